"""Fixtures for routing: servers whose sweeps run every 0.2 s, and a clock tests can set.

`rserver` runs on SQLite and on PostgreSQL (row locks are real there); `rest_server` is
SQLite only, for REST answers that do not depend on the store. The routing clock of a
server is put back to the real one after every test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from server.routing import system_now
from tests.harness import RunningServer
from tests.services import backend_server

ROUTING_SETTINGS = {"routing_sweep_seconds": 0.2, "routing_reoffer_after_seconds": 600.0}


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def rserver(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp(f"routing-{request.param}")
    with backend_server(request.param, data_dir, **ROUTING_SETTINGS) as running:
        yield running


@pytest.fixture(scope="session")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(
        "sqlite", tmp_path_factory.mktemp("routing-rest"), **ROUTING_SETTINGS
    ) as running:
        yield running


@pytest.fixture
async def rhttp(rserver: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    rserver.app.state.routing.clock = system_now
    async with httpx.AsyncClient(base_url=rserver.base_url, timeout=30) as client:
        yield client
    rserver.app.state.routing.clock = system_now


@pytest.fixture
async def rest_http(rest_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=rest_server.base_url, timeout=30) as client:
        yield client
