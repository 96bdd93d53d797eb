"""In-process bus, presence and leases: the embedded default, a real implementation for
one node."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable

from server.bus import Handler, Message

log = logging.getLogger(__name__)


class _MemorySubscription:
    def __init__(self, bus: MemoryBus, channel: str, handler: Handler) -> None:
        self._bus = bus
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        handlers = self._bus._handlers.get(self._channel)
        if handlers is not None:
            handlers.discard(self._handler)
            if not handlers:
                del self._bus._handlers[self._channel]


class MemoryBus:
    """Calls the channel's handlers synchronously, in publish order."""

    def __init__(self) -> None:
        self._handlers: dict[str, set[Handler]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._handlers.clear()

    async def ping(self) -> None:
        return None

    async def publish(self, channel: str, message: Message) -> None:
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(message)
            except Exception:  # one bad handler must not starve the others
                log.exception("bus handler failed on %s", channel)

    async def subscribe(self, channel: str, handler: Handler) -> _MemorySubscription:
        self._handlers.setdefault(channel, set()).add(handler)
        return _MemorySubscription(self, channel, handler)


class MemoryPresence:
    """Connection counts per agent, in this process."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = defaultdict(dict)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._counts.clear()

    async def connected(self, tenant_id: str, agent_id: str) -> bool:
        counts = self._counts[tenant_id]
        counts[agent_id] = counts.get(agent_id, 0) + 1
        return counts[agent_id] == 1

    async def disconnected(self, tenant_id: str, agent_id: str) -> bool:
        counts = self._counts[tenant_id]
        left = counts.get(agent_id, 0) - 1
        if left > 0:
            counts[agent_id] = left
            return False
        counts.pop(agent_id, None)
        return True

    async def connected_agents(self, tenant_id: str) -> set[str]:
        return set(self._counts.get(tenant_id, {}))


class MemoryLeases:
    """Leases in this process, with expiry on `clock` (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._held: dict[str, tuple[str, float]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._held.clear()

    def _current(self, key: str) -> str | None:
        held = self._held.get(key)
        if held is None:
            return None
        if held[1] <= self._clock():
            del self._held[key]
            return None
        return held[0]

    async def acquire(self, key: str, holder: str, ttl: float) -> str:
        current = self._current(key)
        if current is not None and current != holder:
            return current
        self._held[key] = (holder, self._clock() + ttl)
        return holder

    async def holder(self, key: str) -> str | None:
        return self._current(key)

    async def release(self, key: str, holder: str) -> None:
        if self._current(key) == holder:
            del self._held[key]
