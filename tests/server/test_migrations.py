"""Migrations are the only way the schema changes: they must build exactly the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.migrate import alembic_config, upgrade
from server.store.models import Base
from tests.services import create_pg_database, drop_pg_database


def schema_drift(url: str) -> list:
    async def compare() -> list:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(compare())


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    url = create_pg_database()
    yield url
    drop_pg_database(url)


def test_migrations_build_the_models_and_go_down_and_up(database_url: str) -> None:
    upgrade(database_url)
    assert schema_drift(database_url) == []
    command.downgrade(alembic_config(database_url), "base")
    upgrade(database_url)
    assert schema_drift(database_url) == []
