"""The running node: settings, store, bus, presence, hub and token signer, built at startup."""

from __future__ import annotations

from dataclasses import dataclass, field

from server.auth import TokenSigner
from server.bus import Bus, Presence
from server.config import Settings
from server.events import Notifier
from server.hooks import Hooks
from server.hub import Hub
from server.metrics import Metrics
from server.store import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: Bus
    presence: Presence
    signer: TokenSigner
    metrics: Metrics = field(default_factory=Metrics)
    hooks: Hooks = field(default_factory=Hooks)
    hub: Hub = field(init=False)
    notifier: Notifier = field(init=False)

    def __post_init__(self) -> None:
        self.hub = Hub(self.bus, self.metrics)
        self.notifier = Notifier(self.bus)

    async def resync_all(self) -> None:
        self.hub.resync_all()
