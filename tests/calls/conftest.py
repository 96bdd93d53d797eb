"""Fixtures for the call tests: aiortc on loopback, and servers with short call timers.

Most call tests use the `server` fixture of tests/conftest.py (every backend, default call
settings, no STUN/TURN). `timers_server` is a server whose ring timeout and reconnect
grace are short (so `missed` and `dropped` happen within a test) and which hands out
coturn TURN credentials; it runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aioice.ice
import httpx
import pytest

from tests.harness import RunningServer, TenantFixture, new_tenant
from tests.services import backend_server

RING_TIMEOUT = 3.0
RECONNECT_GRACE = 1.0
TURN_SECRET = "coturn-static-auth-secret-for-tests"
TURN_TTL = 600
ICE_URLS = ["stun:stun.kefu.test:3478", "turn:turn.kefu.test:3478?transport=udp"]

TIMER_SETTINGS = {
    "call_ring_timeout_seconds": RING_TIMEOUT,
    "call_reconnect_grace_seconds": RECONNECT_GRACE,
    "ice_urls": ICE_URLS,
    "turn_secret": TURN_SECRET,
    "turn_ttl_seconds": TURN_TTL,
}


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioice never offers 127.0.0.1 as a host candidate; the peers of these tests are on
    one machine, so loopback is the one address they need (and it exists everywhere)."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def timers_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"calls-{request.param}")
    with backend_server(request.param, data_dir, **TIMER_SETTINGS) as running:
        yield running


@pytest.fixture
async def timers_http(timers_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=timers_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def timers_tenant(
    timers_server: RunningServer, timers_http: httpx.AsyncClient
) -> TenantFixture:
    return await new_tenant(timers_server, timers_http, "Timed Shop")
