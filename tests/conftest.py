"""Fixtures: a real server per backend (SQLite file, PostgreSQL database), fresh tenants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import RunningServer, TenantFixture, make_settings, new_tenant
from tests.services import REDIS_URL, create_pg_database, drop_pg_database, require_redis

# The embedded default, PostgreSQL, and PostgreSQL with the Redis bus (as when scaled out).
BACKENDS = ["sqlite", "postgres", "postgres-redis"]


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    backend = request.param
    data_dir: Path = tmp_path_factory.mktemp(f"kefu-{backend}")
    redis_url = None
    if backend.endswith("redis"):
        asyncio.run(require_redis())
        redis_url = REDIS_URL
    url = create_pg_database() if backend.startswith("postgres") else None
    running = RunningServer(make_settings(data_dir, url, redis_url=redis_url)).start()
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
