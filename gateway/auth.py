"""Who is calling: a bearer JWT or an API key becomes the request's `Viewer`.

JWTs are checked with PyJWT against one configured key: an HS256 secret, or an RS256/ES256 public
key. Only the algorithms of that key are accepted, so a token cannot choose a weaker one (no `none`,
no HS256 signed with the public key). Claims: `sub`, `role`, `exp` always; `agentId` for agents,
`teamIds` for supervisors. API keys (`igk_…`) are looked up hashed in the database; a verified key
is trusted for `auth_cache_seconds` without looking it up again (so a revoked key stops working
within that time), which spares every request a database round trip before its own statements.
A verified JWT is remembered by a digest of its text until its `exp` (plus the leeway): its
signature and claims cannot change, so only the clock can make it invalid, and a client sending
the same token on every request pays the signature check once.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cachetools import LRUCache, TTLCache
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.settings import Settings
from resolvers.viewer import Role, Viewer
from warehouse.api_keys import PREFIX, verify_key


class AuthError(Exception):
    """The credentials are missing or not valid; the message says which, never why in detail."""


class AuthUnavailable(Exception):
    """The credentials cannot be checked now (the API-key lookup failed): not the client's fault."""


def is_loopback(host: str | None) -> bool:
    """Whether `host` is a loopback address or name (where auth may be switched off)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class JwtKey:
    key: Any
    algorithms: tuple[str, ...]


def jwt_key(settings: Settings) -> JwtKey | None:
    """The key JWTs are verified with, from the settings; None when JWTs are not configured."""
    if settings.jwt_public_key:
        text = settings.jwt_public_key
        if not text.lstrip().startswith("-----BEGIN"):
            with open(text, encoding="utf-8") as file:  # a path to a PEM file
                text = file.read()
        public = load_pem_public_key(text.encode())
        if isinstance(public, rsa.RSAPublicKey):
            return JwtKey(public, ("RS256",))
        if isinstance(public, ec.EllipticCurvePublicKey):
            return JwtKey(public, ("ES256",))
        raise ValueError("INSIGHTS_JWT_PUBLIC_KEY must be an RSA or EC (P-256) public key")
    if settings.jwt_secret is not None:
        return JwtKey(settings.jwt_secret.get_secret_value(), ("HS256",))
    return None


def viewer_from_claims(
    role: str, subject: str, agent_id: Any, team_ids: Any, show_contacts: bool
) -> Viewer:
    """Check the role's required claims and build the viewer."""
    try:
        parsed = Role(role)
    except ValueError:
        raise AuthError(f"unknown role {role!r}") from None
    if parsed is Role.AGENT and not (isinstance(agent_id, str) and agent_id):
        raise AuthError("an agent token needs an `agentId` claim")
    teams: frozenset[str] = frozenset()
    if parsed is Role.SUPERVISOR:
        if not isinstance(team_ids, list) or not all(isinstance(x, str) for x in team_ids):
            raise AuthError("a supervisor token needs a `teamIds` claim (list of team ids)")
        teams = frozenset(team_ids)
    return Viewer(
        parsed,
        subject,
        agent_id=agent_id if parsed is Role.AGENT else None,
        team_ids=teams,
        show_contacts=show_contacts,
    )


VERIFIED_KEYS_KEPT = 10_000  # most verified API keys one process remembers at once
VERIFIED_TOKENS_KEPT = 10_000  # most verified JWTs one process remembers at once


@dataclass(frozen=True)
class VerifiedToken:
    viewer: Viewer
    valid_until: float  # epoch seconds: `exp` plus the leeway


class Authenticator:
    """Turns the `Authorization` header of a request into a `Viewer`."""

    def __init__(self, settings: Settings, engine: AsyncEngine, *, cache: bool = True) -> None:
        """`cache=False` looks every API key up (for callers that recheck on their own schedule,
        such as live subscriptions, and must see a revocation at their next check)."""
        self.settings = settings
        self.engine = engine
        self.key = jwt_key(settings)
        # verified API keys by a digest of their text (not the secret itself); failures are not
        # kept, so a new key works at once
        self._verified: TTLCache[bytes, Viewer] | None = (
            TTLCache(VERIFIED_KEYS_KEPT, ttl=settings.auth_cache_seconds)
            if cache and settings.auth_cache_seconds > 0
            else None
        )
        self._tokens: LRUCache[bytes, VerifiedToken] = LRUCache(VERIFIED_TOKENS_KEPT)

    async def viewer(self, authorization: str | None) -> Viewer:
        if not authorization:
            raise AuthError("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError("expected `Authorization: Bearer <token>`")
        if token.startswith(PREFIX):
            return await self._api_key(token)
        return self._jwt(token)

    async def _api_key(self, token: str) -> Viewer:
        digest = hashlib.sha256(token.encode()).digest()
        if self._verified is not None and (known := self._verified.get(digest)) is not None:
            return known
        try:
            key = await verify_key(self.engine, token)
        except (SQLAlchemyError, OSError) as error:  # database down or unreachable
            raise AuthUnavailable(f"API-key lookup failed: {type(error).__name__}") from error
        if key is None:
            raise AuthError("unknown or revoked API key")
        viewer = viewer_from_claims(
            key.role, f"key:{key.key_id}", key.agent_id, list(key.team_ids), self._contacts
        )
        if self._verified is not None:
            self._verified[digest] = viewer
        return viewer

    def _jwt(self, token: str) -> Viewer:
        if self.key is None:
            raise AuthError("JWTs are not accepted: no key is configured")
        digest = hashlib.sha256(token.encode()).digest()
        known = self._tokens.get(digest)
        if known is not None:
            if time.time() < known.valid_until:
                return known.viewer
            del self._tokens[digest]  # expired: decoding it again says so
        viewer, valid_until = self._decode(token)
        self._tokens[digest] = VerifiedToken(viewer, valid_until)
        return viewer

    def _decode(self, token: str) -> tuple[Viewer, float]:
        """The viewer of a token whose signature and claims check out, and until when it does."""
        assert self.key is not None
        s = self.settings
        try:
            claims = jwt.decode(
                token,
                self.key.key,
                algorithms=list(self.key.algorithms),
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway_seconds,
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        viewer = viewer_from_claims(
            str(claims["role"]),
            str(claims["sub"]),
            claims.get("agentId"),
            claims.get("teamIds"),
            self._contacts,
        )
        return viewer, float(claims["exp"]) + s.jwt_leeway_seconds

    @property
    def _contacts(self) -> bool:
        return self.settings.agents_see_customer_contacts
