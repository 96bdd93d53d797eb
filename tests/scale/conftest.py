"""Fixtures of the scale-out suite: our own PostgreSQL and Redis, and a cluster per test.

The machine's own PostgreSQL and Redis are never touched: the suite starts a PostgreSQL
(once per session) and a Redis (once per test) on free ports, so tests may stop and
start them. Kefu nodes are subprocesses, killed at the end of each test whatever happens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.scale.cluster import Cluster, OwnPostgres
from tests.services import OwnRedis


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[OwnPostgres]:
    postgres = OwnPostgres()
    try:
        postgres.init()
        postgres.start()
        yield postgres
    finally:
        postgres.destroy()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def cluster(
    own_postgres: OwnPostgres, own_redis: OwnRedis, tmp_path: Path
) -> AsyncIterator[Cluster]:
    if not own_postgres.running:  # a test that stopped it failed before starting it again
        own_postgres.start()
    url = await own_postgres.create_database()
    running = Cluster(url, own_redis.url, tmp_path)
    try:
        yield running
    finally:
        running.close()
