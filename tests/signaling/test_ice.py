"""ICE servers and coturn's ephemeral TURN credentials, checked against coturn's scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from signaling.ice import (
    IceConfig,
    coturn_timestamp,
    credential_expiry,
    ice_servers_for,
    turn_credential,
    turn_username,
    verify_turn_credential,
)
from signaling.participants import Participant
from tests.signaling.support import T0

SECRET = "north-wind-4f1c9a2e"
URLS = (
    "stun:turn.kefu.example:3478",
    "turn:turn.kefu.example:3478?transport=udp",
    "turns:turn.kefu.example:5349?transport=tcp",
)
USER = Participant.visitor("387f0c1d").key


def coturn_password(secret: str, username: str) -> str:
    """Computed here independently: base64(HMAC-SHA1(secret, username))."""
    mac = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def test_turn_entry_follows_the_rest_api_scheme() -> None:
    servers = ice_servers_for(IceConfig(URLS, SECRET, turn_ttl=3600), USER, T0)
    assert servers[0] == {"urls": ["stun:turn.kefu.example:3478"]}
    turn = servers[1]
    assert turn["urls"] == list(URLS[1:])
    expiry = int(T0.timestamp()) + 3600
    assert turn["username"] == f"{expiry}:visitor-387f0c1d"
    assert turn["credential"] == coturn_password(SECRET, turn["username"])
    assert len(base64.b64decode(turn["credential"])) == 20  # a SHA-1 digest
    assert len(servers) == 2


def test_credentials_work_until_the_expiry_and_not_after() -> None:
    config = IceConfig(URLS, SECRET, turn_ttl=600)
    turn = ice_servers_for(config, USER, T0)[1]
    username, credential = turn["username"], turn["credential"]
    assert verify_turn_credential(SECRET, username, credential, T0)
    assert verify_turn_credential(SECRET, username, credential, T0 + timedelta(seconds=600))
    assert not verify_turn_credential(SECRET, username, credential, T0 + timedelta(seconds=601))
    assert credential_expiry(config, T0) == int(T0.timestamp()) + 600


def test_a_wrong_secret_or_a_tampered_username_fails() -> None:
    turn = ice_servers_for(IceConfig(URLS, SECRET), USER, T0)[1]
    username, credential = turn["username"], turn["credential"]
    assert not verify_turn_credential("other-secret", username, credential, T0)
    later = username.replace(username.split(":")[0], str(int(username.split(":")[0]) + 86400))
    assert not verify_turn_credential(SECRET, later, credential, T0)
    assert not verify_turn_credential(SECRET, username + "x", credential, T0)


def test_secret_rotation_any_configured_secret_verifies() -> None:
    turn = ice_servers_for(IceConfig(URLS, "new-secret"), USER, T0)[1]
    assert verify_turn_credential(
        ["old-secret", "new-secret"], turn["username"], turn["credential"], T0
    )


def test_turn_helpers_match_the_independent_computation() -> None:
    username = turn_username(1_800_000_000, "agent-7e04")
    assert username == "1800000000:agent-7e04"
    assert turn_credential(SECRET, username) == coturn_password(SECRET, username)


def test_coturn_reads_the_timestamp_like_coturn() -> None:
    assert coturn_timestamp("1800000000:agent-7e04") == 1_800_000_000
    assert coturn_timestamp("agent-7e04:1800000000") == 1_800_000_000
    assert coturn_timestamp("1800000000") == 1_800_000_000
    assert coturn_timestamp("agent") == 0


def test_user_ids_cannot_contain_the_separator() -> None:
    with pytest.raises(ValueError):
        turn_username(1, "visitor:1")
    with pytest.raises(ValueError):
        turn_username(1, "")


def test_stun_only_and_nothing_configured() -> None:
    assert ice_servers_for(IceConfig(["stun:stun.example:3478"]), USER, T0) == [
        {"urls": ["stun:stun.example:3478"]}
    ]
    assert ice_servers_for(IceConfig(), USER, T0) == []


def test_the_config_is_checked() -> None:
    with pytest.raises(ValueError, match="secret"):
        IceConfig(["turn:turn.example:3478"])
    with pytest.raises(ValueError):
        IceConfig(["http://turn.example"], SECRET)
    with pytest.raises(ValueError):
        IceConfig(URLS, "")
    with pytest.raises(ValueError):
        IceConfig(URLS, SECRET, turn_ttl=0)
    config = IceConfig([" stun:a:3478 ", ""], None)
    assert config.urls == ("stun:a:3478",)
    assert SECRET not in repr(IceConfig(URLS, SECRET))
