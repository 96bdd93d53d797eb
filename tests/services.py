"""Real services for tests: a PostgreSQL database per run, and the skip-or-fail rule.

Where a real service is missing on a developer's machine the test skips with the
reason; under CI (`CI=true`) it fails instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.harness import RunningServer

PG_HOST = os.environ.get("KEFU_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KEFU_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("KEFU_TEST_PG_USER", "postgres")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip (developer machine) or fail (CI) because a real service is not there."""
    if in_ci():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


async def _admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_pg_database() -> str:
    """A fresh database on the machine's PostgreSQL; returns its SQLAlchemy URL."""
    name = "kefu_test_" + secrets.token_hex(6)
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        missing(f"PostgreSQL at {PG_HOST}:{PG_PORT} is not reachable ({exc!r})")
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def require_redis(url: str = REDIS_URL) -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_timeout=3)
    try:
        await client.ping()
    except Exception as exc:
        missing(f"Redis at {url} is not reachable ({exc!r})")
    finally:
        await client.aclose()


class OwnRedis:
    """A redis-server this test starts on a free port, to stop and start at will."""

    def __init__(self) -> None:
        import shutil
        import socket

        self.binary = shutil.which("redis-server")
        if self.binary is None:
            missing("redis-server is not installed")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary is not None
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import socket
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextlib.contextmanager
def backend_server(backend: str, data_dir: Path, **settings: Any) -> Iterator[RunningServer]:
    """A running server on `backend` (`sqlite`, `postgres` or `postgres-redis`): its own
    PostgreSQL database made and dropped around it, Redis checked first where used."""
    from tests.harness import RunningServer, make_settings

    redis_url = None
    if backend.endswith("redis"):
        asyncio.run(require_redis())
        redis_url = REDIS_URL
    url = create_pg_database() if backend.startswith("postgres") else None
    running = RunningServer(make_settings(data_dir, url, redis_url=redis_url, **settings)).start()
    try:
        yield running
    finally:
        running.stop()
        if url:
            drop_pg_database(url)
