"""Authentication: bearer JWTs (HS256, RS256, ES256) and API keys; 401 without them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.cli import main
from tests.helpers import app_client, rows
from warehouse.api_keys import create_key, revoke_key

SECRET = "test-secret-that-is-long-enough-for-hs256"
AGENTS = "{ agents { totalCount } }"


def token(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode({"exp": int(time.time()) + 300, **claims}, key, algorithm=algorithm)


def client(engine: AsyncEngine, address: str = "127.0.0.1", **settings: Any) -> httpx.AsyncClient:
    return app_client(engine, address, **{"jwt_secret": SECRET, **settings})


async def post(c: httpx.AsyncClient, bearer: str | None, query: str = AGENTS) -> httpx.Response:
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return await c.post("/graphql", json={"query": query}, headers=headers)


async def total_agents(engine: AsyncEngine) -> int:
    return int((await rows(engine, "SELECT COUNT(*) AS n FROM agents"))[0]["n"])


async def test_no_token_is_401_with_a_bearer_challenge(small_engine: AsyncEngine) -> None:
    async with client(small_engine) as c:
        response = await post(c, None)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["x-request-id"]
        # every route is behind the gate, also ones added later (/events): 401 before 404
        assert (await c.post("/events", json={})).status_code == 401
        assert (await c.get("/graphql?query={__typename}")).status_code == 401
        # the GraphiQL page and its assets hold no data: a browser opens them without a token
        assert (await c.get("/graphql", headers={"accept": "text/html"})).status_code == 200
        page_query = "/graphql?query={__typename}"
        assert (await c.get(page_query, headers={"accept": "text/html"})).status_code == 401
        assert (await c.get("/healthz")).status_code == 200


async def test_admin_jwt_sees_everything(small_engine: AsyncEngine) -> None:
    async with client(small_engine) as c:
        response = await post(c, token({"sub": "ops", "role": "admin"}))
    assert response.status_code == 200
    assert response.json()["data"]["agents"]["totalCount"] == await total_agents(small_engine)


async def test_agent_jwt_is_scoped_to_the_agent(small_engine: AsyncEngine) -> None:
    (agent,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    bearer = token({"sub": "u1", "role": "agent", "agentId": agent["agent_id"]})
    async with client(small_engine) as c:
        response = await post(c, bearer, "{ agents { nodes { agentId } } }")
    assert response.json()["data"]["agents"]["nodes"] == [{"agentId": agent["agent_id"]}]


BAD_TOKENS = {
    "expired": lambda: token({"sub": "a", "role": "admin", "exp": int(time.time()) - 3600}),
    "wrong secret": lambda: token(
        {"sub": "a", "role": "admin"}, key="another-secret-another-secret-12"
    ),
    "alg none": lambda: jwt.encode(
        {"sub": "a", "role": "admin", "exp": int(time.time()) + 60}, None, algorithm="none"
    ),
    "no exp": lambda: jwt.encode({"sub": "a", "role": "admin"}, SECRET, algorithm="HS256"),
    "no role": lambda: token({"sub": "a"}),
    "unknown role": lambda: token({"sub": "a", "role": "root"}),
    "agent without agentId": lambda: token({"sub": "a", "role": "agent"}),
    "supervisor without teamIds": lambda: token({"sub": "a", "role": "supervisor"}),
    "garbage": lambda: "not.a.token",
    "unknown api key": lambda: "igk_abcdef123456_nope",
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
async def test_invalid_credentials_are_401(small_engine: AsyncEngine, name: str) -> None:
    async with client(small_engine) as c:
        response = await post(c, BAD_TOKENS[name]())
    assert response.status_code == 401, response.text
    assert "data" not in response.json()


async def test_basic_auth_scheme_is_401(small_engine: AsyncEngine) -> None:
    async with client(small_engine) as c:
        response = await c.post(
            "/graphql", json={"query": AGENTS}, headers={"authorization": "Basic YTpi"}
        )
    assert response.status_code == 401


def _hs256_by_hand(claims: dict[str, Any], key: bytes) -> str:
    """An HS256 token signed with `key` (PyJWT rightly refuses to sign with a PEM key)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _pem(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(65537, 2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
async def test_public_key_jwts(
    small_engine: AsyncEngine, tmp_path: Path, algorithm: str, make_key: Any
) -> None:
    private = make_key()
    pem_file = tmp_path / "key.pem"
    pem_file.write_text(_pem(private))
    good = token({"sub": "ops", "role": "admin"}, private, algorithm)
    # algorithm confusion: an HS256 token "signed" with the public key text must not pass
    confused = _hs256_by_hand(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, _pem(private).encode()
    )
    other = token({"sub": "ops", "role": "admin"}, make_key(), algorithm)
    async with client(small_engine, jwt_secret=None, jwt_public_key=str(pem_file)) as c:
        assert (await post(c, good)).status_code == 200
        assert (await post(c, confused)).status_code == 401
        assert (await post(c, other)).status_code == 401
        assert (await post(c, token({"sub": "a", "role": "admin"}))).status_code == 401


async def test_audience_and_issuer_are_checked_when_set(small_engine: AsyncEngine) -> None:
    claims = {"sub": "a", "role": "admin"}
    async with client(small_engine, jwt_audience="insights", jwt_issuer="idp") as c:
        assert (
            await post(c, token({**claims, "aud": "insights", "iss": "idp"}))
        ).status_code == 200
        assert (await post(c, token({**claims, "aud": "other", "iss": "idp"}))).status_code == 401
        assert (await post(c, token(claims))).status_code == 401


async def test_api_keys_authenticate_until_revoked(small_engine: AsyncEngine) -> None:
    (agent,) = await rows(small_engine, "SELECT agent_id FROM agents ORDER BY agent_id LIMIT 1")
    key, text = await create_key(small_engine, "agent", agent_id=agent["agent_id"], label="test")
    stored = await rows(small_engine, "SELECT * FROM api_keys WHERE key_id = :k", k=key.key_id)
    assert text.split("_", 2)[2] not in str(stored), "only a hash of the secret is stored"
    async with client(small_engine, auth_cache_seconds=0) as c:  # caching: test_auth_cache.py
        response = await post(c, text, "{ agents { nodes { agentId } } }")
        assert response.json()["data"]["agents"]["nodes"] == [{"agentId": agent["agent_id"]}]
        assert (await post(c, text[:-2] + "xx")).status_code == 401
        assert await revoke_key(small_engine, key.key_id)
        assert (await post(c, text)).status_code == 401


def test_keys_cli_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = ["--database", f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"]
    assert main(["db", "upgrade", *database]) == 0
    assert (
        main(
            [
                "keys",
                "create",
                "--allow-unknown",  # an empty warehouse: the teams' data is still to come
                "--role",
                "supervisor",
                "--team-id",
                "T1",
                "--team-id",
                "T2",
                *database,
            ]
        )
        == 0
    )
    created = capsys.readouterr().out
    secret_line = created.strip().splitlines()[-1]
    assert secret_line.startswith("igk_")
    key_id = secret_line.split("_")[1]
    assert main(["keys", "list", *database]) == 0
    listing = capsys.readouterr().out
    assert (
        key_id in listing and "supervisor" in listing and "T1 T2" in listing and "active" in listing
    )
    assert secret_line.split("_", 2)[2] not in listing
    assert main(["keys", "revoke", key_id, *database]) == 0
    assert main(["keys", "list", *database]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", key_id, *database]) == 2
    # a supervisor key without teams, an agent key without agent: refused with a message
    assert main(["keys", "create", "--role", "supervisor", *database]) == 2
    assert main(["keys", "create", "--role", "agent", *database]) == 2
    assert "--agent-id" in capsys.readouterr().err


async def test_auth_off_serves_loopback_callers_only(small_engine: AsyncEngine) -> None:
    async with client(small_engine, auth="off") as c:
        response = await post(c, None)
        assert response.json()["data"]["agents"]["totalCount"] == await total_agents(small_engine)
    async with client(small_engine, address="10.1.2.3", auth="off") as c:
        assert (await post(c, None)).status_code == 401
        assert (await post(c, token({"sub": "a", "role": "admin"}))).status_code == 200


def test_serve_refuses_auth_off_on_a_public_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--auth", "off", "--host", "0.0.0.0"]) == 2
    assert "loopback" in capsys.readouterr().err


def test_serve_says_when_auth_is_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    # serve hands its settings to the workers through the environment: keep that to this test
    for name in ("DATABASE_URL", "INSIGHTS_AUTH"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        monkeypatch.delenv(name)
    assert (
        main(
            [
                "serve",
                "--auth",
                "off",
                "--host",
                "127.0.0.1",
                "--database",
                "sqlite+aiosqlite:///:memory:",
            ]
        )
        == 0
    )
    assert "authentication is OFF" in capsys.readouterr().out


async def test_admin_paths_refuse_other_roles(small_engine: AsyncEngine) -> None:
    supervisor = token({"sub": "s", "role": "supervisor", "teamIds": ["T1"]})
    admin = token({"sub": "a", "role": "admin"})
    async with client(small_engine) as c:
        refused = await c.post(
            "/events", json={}, headers={"authorization": f"Bearer {supervisor}"}
        )
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        # an admin passes the gate: the ingest itself answers (an empty object is no event)
        passed = await c.post("/events", json={}, headers={"authorization": f"Bearer {admin}"})
        assert passed.status_code == 422
        # /graphql is for every role
        assert (await post(c, supervisor)).status_code == 200
