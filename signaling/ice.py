"""ICE servers for a participant: STUN/TURN URLs from settings, ephemeral TURN credentials.

TURN credentials follow coturn's REST-API scheme (`use-auth-secret` +
`static-auth-secret`): the username is `"<unix expiry>:<user id>"` and the credential is
`base64(HMAC-SHA1(shared secret, username))`. coturn recomputes the HMAC with each of its
secrets and refuses the username once the expiry is in the past, on EVERY authenticated
request (an allocation's refresh included). So the TTL must cover a whole call: the
gateway hands fresh credentials with each call (`call.ringing`, `call.incoming`) as well
as in `welcome` and by REST, and the default TTL (4 hours) is far longer than a support
call yet far shorter than a static password's lifetime.

The user id is the participant's `key` (`visitor-<id>`, `agent-<id>`): coturn counts its
per-user quota by it. It may not contain `:`, coturn's separator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NotRequired, TypedDict

STUN_SCHEMES = ("stun:", "stuns:")
TURN_SCHEMES = ("turn:", "turns:")
SEPARATOR = ":"


class RTCIceServer(TypedDict):
    """The browser's RTCIceServer (and aiortc's `RTCIceServer(**server)`)."""

    urls: list[str]
    username: NotRequired[str]
    credential: NotRequired[str]


@dataclass(frozen=True)
class IceConfig:
    """What the settings say: URLs (`stun:`, `stuns:`, `turn:`, `turns:`), the TURN shared
    secret (coturn's `static-auth-secret`; required when any TURN URL is given) and the
    lifetime of the credentials handed out, `turn_ttl` seconds (default 4 hours)."""

    urls: Sequence[str] = ()
    turn_secret: str | None = field(default=None, repr=False)
    turn_ttl: int = 14400

    def __post_init__(self) -> None:
        urls = tuple(url.strip() for url in self.urls if url.strip())
        for url in urls:
            if not url.lower().startswith(STUN_SCHEMES + TURN_SCHEMES):
                raise ValueError(f"an ICE URL starts with stun:, stuns:, turn: or turns: {url!r}")
        if self.turn_ttl <= 0:
            raise ValueError("turn_ttl must be a positive number of seconds")
        if self.turn_secret is not None and not self.turn_secret:
            raise ValueError("the TURN shared secret must not be empty")
        if self.turn_secret is None and any(url.lower().startswith(TURN_SCHEMES) for url in urls):
            raise ValueError("TURN URLs need the TURN shared secret to sign credentials")
        object.__setattr__(self, "urls", urls)

    @property
    def stun_urls(self) -> list[str]:
        return [url for url in self.urls if url.lower().startswith(STUN_SCHEMES)]

    @property
    def turn_urls(self) -> list[str]:
        return [url for url in self.urls if url.lower().startswith(TURN_SCHEMES)]


def turn_username(expires_at: int, user_id: str) -> str:
    if not user_id or SEPARATOR in user_id:
        raise ValueError(f"a TURN user id is non-empty and has no {SEPARATOR!r}: {user_id!r}")
    return f"{expires_at}{SEPARATOR}{user_id}"


def turn_credential(secret: str, username: str) -> str:
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def credential_expiry(config: IceConfig, now: datetime) -> int:
    """The unix time the credentials handed out at `now` stop working."""
    return int(now.timestamp()) + config.turn_ttl


def ice_servers_for(config: IceConfig, user_id: str, now: datetime) -> list[RTCIceServer]:
    """The `iceServers` list for one participant at `now`: one entry for the STUN URLs,
    one for the TURN URLs with fresh credentials; empty when nothing is configured."""
    servers: list[RTCIceServer] = []
    if config.stun_urls:
        servers.append({"urls": config.stun_urls})
    if config.turn_urls:
        assert config.turn_secret is not None  # IceConfig refuses TURN without a secret
        username = turn_username(credential_expiry(config, now), user_id)
        servers.append(
            {
                "urls": config.turn_urls,
                "username": username,
                "credential": turn_credential(config.turn_secret, username),
            }
        )
    return servers


def coturn_timestamp(username: str) -> int:
    """The expiry coturn reads from a REST-API username (`get_rest_api_timestamp`):
    the digits before the first separator, or (`"<user>:<expiry>"`) the number after it."""
    before, sep, after = username.partition(SEPARATOR)
    if not sep:
        return _leading_int(username)
    if before and before.isdigit():
        return int(before)
    return _leading_int(after)


def _leading_int(text: str) -> int:
    digits = ""
    for char in text.lstrip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0


def verify_turn_credential(
    secrets: str | Sequence[str], username: str, credential: str, now: datetime
) -> bool:
    """What coturn does with `use-auth-secret`: the expiry must not be in the past, and
    the credential must be the HMAC of the username under one of the secrets."""
    if coturn_timestamp(username) < int(now.timestamp()):
        return False
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    return any(
        hmac.compare_digest(turn_credential(secret, username), credential) for secret in candidates
    )
