"""The in-memory tenant settings of the hot paths: fresh within ttl, forgotten on change.

A real SQLite store, migrated; the clock is a counter the test moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.store import Database
from server.store.migrate import upgrade
from server.store.models import Tenant
from server.tenant_settings import TenantSettingsCache
from server.tenants import create_tenant


async def _store(tmp_path: Path) -> Database:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    await asyncio.to_thread(upgrade, url)
    return Database(url)


async def _set(db: Database, tenant_id: str, settings: dict[str, Any]) -> None:
    async with db.write() as session:
        tenant = await session.get(Tenant, tenant_id)
        assert tenant is not None
        tenant.settings = settings


async def test_settings_are_served_from_memory_until_ttl_or_forget(tmp_path: Path) -> None:
    db = await _store(tmp_path)
    try:
        tenant = await create_tenant(db, "Cached", [])
        now = [0.0]
        cache = TenantSettingsCache(db, ttl=5.0, clock=lambda: now[0])
        builds: list[Mapping[str, Any]] = []

        def build(settings: Mapping[str, Any]) -> str:
            builds.append(settings)
            return str(settings.get("languages"))

        await _set(db, tenant.id, {"languages": ["en"]})
        assert await cache.get(tenant.id) == {"languages": ["en"]}
        assert await cache.derived(tenant.id, "langs", build) == "['en']"
        assert await cache.derived(tenant.id, "langs", build) == "['en']"
        assert len(builds) == 1  # built once per fill

        await _set(db, tenant.id, {"languages": ["de"]})
        now[0] = 4.9
        assert await cache.get(tenant.id) == {"languages": ["en"]}  # within ttl: memory
        now[0] = 5.0
        assert await cache.get(tenant.id) == {"languages": ["de"]}  # ttl passed: the store
        assert await cache.derived(tenant.id, "langs", build) == "['de']"

        await _set(db, tenant.id, {"languages": ["ja"]})
        cache.forget(tenant.id)
        assert await cache.derived(tenant.id, "langs", build) == "['ja']"
        assert len(builds) == 3

        assert await cache.get("no-such-tenant") == {}
    finally:
        await db.dispose()
