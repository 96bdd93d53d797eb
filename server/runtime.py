"""The running node: settings, store, bus, presence, leases, hub and token signer, built at
startup. `node_id` names this node to the others (presence members, call homes)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from server.auth import TokenSigner
from server.bus import Bus, Leases, Presence
from server.bus.memory import MemoryLeases
from server.config import Settings
from server.events import Notifier
from server.hooks import Hooks
from server.hub import Hub
from server.metrics import Metrics
from server.store import Database
from server.tenant_settings import TenantSettingsCache


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    presence: Presence
    signer: TokenSigner
    leases: Leases = field(default_factory=MemoryLeases)
    node_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    metrics: Metrics = field(default_factory=Metrics)
    hooks: Hooks = field(default_factory=Hooks)
    hub: Hub = field(init=False)
    notifier: Notifier = field(init=False)
    tenant_settings: TenantSettingsCache = field(init=False)

    def __post_init__(self) -> None:
        self.hub = Hub(self.bus, self.metrics)
        self.notifier = Notifier(self.bus)
        self.tenant_settings = TenantSettingsCache(self.db)

    async def resync_all(self) -> None:
        self.hub.resync_all()
