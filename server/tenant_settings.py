"""A tenant's settings as the hot paths read them: from memory, at most `ttl` seconds old.

Every shopper message used to read the tenant row twice (routing's policy, translation's
languages and glossary); the relay benchmark put that at about a quarter of a node's
time. This cache answers from memory. A change made through this node (the tenant,
routing and translation settings routes) is seen at once (`forget`); one made through
another node is seen within `ttl` seconds. What is built from the settings (a routing
policy, a compiled glossary) is memoized with them (`derived`), so it is built once per
fill, not once per message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import select

from server.store import Database
from server.store.models import Tenant

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 5.0


@dataclass
class _Entry:
    settings: Mapping[str, Any]
    loaded_at: float
    derived: dict[str, Any] = field(default_factory=dict)


class TenantSettingsCache:
    def __init__(
        self,
        db: Database,
        ttl: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    async def get(self, tenant_id: str) -> Mapping[str, Any]:
        """The tenant's settings (empty for an unknown tenant); never modify them."""
        return (await self._entry(tenant_id)).settings

    async def derived(
        self, tenant_id: str, name: str, build: Callable[[Mapping[str, Any]], T]
    ) -> T:
        """`build(settings)`, built once per fill of the tenant's settings."""
        entry = await self._entry(tenant_id)
        if name not in entry.derived:
            entry.derived[name] = build(entry.settings)
        return cast(T, entry.derived[name])

    def forget(self, tenant_id: str) -> None:
        """The settings changed: the next read goes to the store."""
        self._entries.pop(tenant_id, None)

    async def _entry(self, tenant_id: str) -> _Entry:
        entry = self._entries.get(tenant_id)
        now = self._clock()
        if entry is not None and now - entry.loaded_at < self._ttl:
            return entry
        async with self._db.read() as session:
            settings = await session.scalar(select(Tenant.settings).where(Tenant.id == tenant_id))
        entry = _Entry(dict(settings or {}), now)
        self._entries[tenant_id] = entry
        return entry
