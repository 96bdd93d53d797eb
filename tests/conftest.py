"""Fixtures: a real server per backend (SQLite file, PostgreSQL database), fresh tenants."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import RunningServer, TenantFixture, make_settings, new_tenant
from tests.services import create_pg_database, drop_pg_database

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    backend = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"kefu-{backend}")
    url = create_pg_database() if backend == "postgres" else None
    running = RunningServer(make_settings(data_dir, url)).start()
    try:
        yield running
    finally:
        running.stop()
        if url:
            drop_pg_database(url)


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
