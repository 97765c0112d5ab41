"""Verified JWTs are remembered until they expire: the same token's signature is checked once, an
expired token is refused even when remembered, and a changed token is never taken for a
remembered one."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from gateway import auth
from gateway.auth import Authenticator, AuthError
from gateway.settings import Settings
from resolvers.viewer import Viewer

SECRET = "test-secret-that-is-long-enough-for-hs256"
CLAIMS = {"sub": "dash", "role": "admin"}


def authenticator(leeway: int = 0) -> Authenticator:
    settings = Settings(jwt_secret=SecretStr(SECRET), jwt_leeway_seconds=leeway)
    return Authenticator(settings, engine=None)  # type: ignore[arg-type]  # JWTs need no database


def token(claims: dict[str, Any], expires_in: float = 300) -> str:
    return jwt.encode({"exp": int(time.time() + expires_in), **claims}, SECRET, algorithm="HS256")


async def outcome(a: Authenticator, bearer: str) -> Viewer | str:
    try:
        return await a.viewer(f"Bearer {bearer}")
    except AuthError as error:
        return f"refused: {error}"


async def test_the_same_token_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    real = jwt.decode

    def counting(text: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    a = authenticator()
    bearer = token(CLAIMS)
    viewers = [await a.viewer(f"Bearer {bearer}") for _ in range(5)]
    assert len(set(viewers)) == 1 and viewers[0].subject == "dash"
    assert decoded == [bearer]
    other = token({"sub": "other", "role": "admin"})
    assert (await a.viewer(f"Bearer {other}")).subject == "other"
    assert decoded == [bearer, other]


@pytest.mark.parametrize("leeway", [0, 30])
async def test_a_remembered_token_is_refused_once_it_expires(
    monkeypatch: pytest.MonkeyPatch, leeway: int
) -> None:
    a = authenticator(leeway)
    bearer = token(CLAIMS, expires_in=60)
    exp = jwt.decode(bearer, options={"verify_signature": False})["exp"]
    assert isinstance(await outcome(a, bearer), Viewer)
    monkeypatch.setattr(auth.time, "time", lambda: exp + leeway - 1)
    assert isinstance(await outcome(a, bearer), Viewer)
    # PyJWT reads the clock through its own module; both see the same moment
    monkeypatch.setattr(jwt.api_jwt, "datetime", _frozen_datetime(exp + leeway + 1))
    monkeypatch.setattr(auth.time, "time", lambda: exp + leeway + 1)
    assert await outcome(a, bearer) == "refused: token expired"
    assert await outcome(a, bearer) == "refused: token expired"


def _frozen_datetime(moment: float) -> Any:
    from datetime import UTC, datetime

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.fromtimestamp(moment, tz or UTC)

    return Frozen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
async def test_a_changed_token_gets_what_a_fresh_check_says(data: st.DataObject) -> None:
    """Remembering must not change any answer: a token with any character changed, added or
    dropped gets, from an authenticator that has seen the original, what a new one says."""
    bearer = token(CLAIMS)
    seen = authenticator()
    assert isinstance(await outcome(seen, bearer), Viewer)
    at = data.draw(st.integers(0, len(bearer) - 1), label="position")
    edit = data.draw(st.sampled_from(["replace", "insert", "drop"]), label="edit")
    char = data.draw(st.characters(min_codepoint=33, max_codepoint=126), label="char")
    if edit == "replace":
        changed = bearer[:at] + char + bearer[at + 1 :]
    elif edit == "insert":
        changed = bearer[:at] + char + bearer[at:]
    else:
        changed = bearer[:at] + bearer[at + 1 :]
    fresh = await outcome(authenticator(), changed)
    assert await outcome(seen, changed) == fresh
    if changed != bearer and isinstance(fresh, Viewer):
        # base64url's last character may carry unused bits: the same signature, still valid
        assert fresh == await outcome(seen, bearer)
