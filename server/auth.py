"""Who is calling: password hashes, signed tokens, and the signed shopper identity.

Tokens are HS256 JWTs signed with the node's secret. Claims: `sub` (agent or visitor id),
`tid` (tenant id), `kind` ("agent" | "visitor"), `role` (agents: "agent" | "admin"),
`typ` ("access" | "refresh"), `exp`. Every lookup after decoding also filters by `tid`,
so a token of one tenant can never name another tenant's rows.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import Forbidden, Unauthorized

PrincipalKind = Literal["agent", "visitor"]
_hasher = PasswordHasher()
_ALGORITHM = "HS256"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or a WebSocket connection."""

    kind: PrincipalKind
    id: str
    tenant_id: str
    role: str = "visitor"
    name: str = ""

    @property
    def is_staff(self) -> bool:
        return self.kind == "agent"

    @property
    def is_admin(self) -> bool:
        return self.kind == "agent" and self.role == "admin"

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("this needs an admin", "admin_required")

    def require_staff(self) -> None:
        if not self.is_staff:
            raise Forbidden("this needs an agent token", "agent_required")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class TokenSigner:
    """Issues and checks tokens with one secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def issue(
        self,
        principal: Principal,
        ttl_seconds: int,
        token_type: Literal["access", "refresh"] = "access",
    ) -> str:
        now = int(time.time())
        claims = {
            "sub": principal.id,
            "tid": principal.tenant_id,
            "kind": principal.kind,
            "role": principal.role,
            "name": principal.name,
            "typ": token_type,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str, token_type: Literal["access", "refresh"] = "access") -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                options={"require": ["sub", "tid", "kind", "typ", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired", "token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is not valid", "invalid_token") from exc
        if claims["typ"] != token_type or claims["kind"] not in ("agent", "visitor"):
            raise Unauthorized(f"an {token_type} token is needed here", "invalid_token")
        return Principal(
            kind=claims["kind"],
            id=str(claims["sub"]),
            tenant_id=str(claims["tid"]),
            role=str(claims.get("role", "visitor")),
            name=str(claims.get("name", "")),
        )


def identity_hash(identity_secret: str, external_id: str) -> str:
    """What a storefront's backend computes: hex HMAC-SHA256 of the external id."""
    return hmac.new(identity_secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def identity_is_signed(identity_secret: str, external_id: str, signature: str | None) -> bool:
    if not signature:
        return False
    return hmac.compare_digest(identity_hash(identity_secret, external_id), signature.lower())
