"""Node-local fan-out: which of this node's connections listen on which bus channel.

The hub holds one bus subscription per channel that has local listeners and hands each
bus message to those connections without awaiting (a slow socket never slows the hub).
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from server.bus import Bus, Message, Subscription
from server.metrics import Metrics


class Listener(Protocol):
    def deliver(self, envelope: Message) -> None: ...

    def resync(self) -> None:
        """Catch up from the store after the bus may have lost messages."""
        ...


class Hub:
    def __init__(self, bus: Bus, metrics: Metrics | None = None) -> None:
        self._bus = bus
        self._metrics = metrics
        self._members: dict[str, set[Listener]] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = asyncio.Lock()

    async def join(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            members = self._members.get(channel)
            if members is None:
                members = self._members[channel] = set()
                self._subscriptions[channel] = await self._bus.subscribe(
                    channel, lambda message: self._fan_out(channel, message)
                )
            members.add(listener)

    async def leave(self, channel: str, listener: Listener) -> None:
        async with self._lock:
            members = self._members.get(channel)
            if members is None:
                return
            members.discard(listener)
            if not members:
                del self._members[channel]
                await self._subscriptions.pop(channel).close()

    def _fan_out(self, channel: str, message: Message) -> None:
        published_at = message.get("ts")
        if self._metrics is not None and isinstance(published_at, float):
            self._metrics.bus_lag.observe(max(0.0, time.time() - published_at))
        for listener in list(self._members.get(channel, ())):
            listener.deliver(message)

    def resync_all(self) -> None:
        """After a bus outage: every local listener catches up from the store."""
        for listener in {m for members in self._members.values() for m in members}:
            listener.resync()

    @property
    def listener_count(self) -> int:
        return sum(len(members) for members in self._members.values())
