"""Fixtures: a real server per backend (SQLite file, PostgreSQL database), fresh tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import RunningServer, TenantFixture, new_tenant
from tests.services import backend_server

# The embedded default, PostgreSQL, and PostgreSQL with the Redis bus (as when scaled out).
BACKENDS = ["sqlite", "postgres", "postgres-redis"]


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp(f"kefu-{request.param}")
    with backend_server(request.param, data_dir) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
async def tenant(server: RunningServer, http: httpx.AsyncClient) -> TenantFixture:
    return await new_tenant(server, http, "Shop")


@pytest.fixture
async def other_tenant(server: RunningServer, http: httpx.AsyncClient) -> TenantFixture:
    return await new_tenant(server, http, "Rival")
