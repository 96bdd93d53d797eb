"""One client's outbound side: a bounded queue and the single writer that keeps seq order.

Everything a client receives goes through `Outbox`: direct replies (acks, errors,
pongs), live events from the bus, and catch-ups (replays from the store). One writer
task sends them in queue order and, per conversation, lets each seq through at most
once and never out of order: an event older than what the client has is dropped; an
event that jumps ahead first pulls the missing ones from the store. So a lost bus
message, a reordered publish or a reconnect can never leave a gap or a duplicate.

When the queue is full the client is reading too slowly: the connection is closed with
4008 (`slow_consumer`) and the client resumes on reconnect.

An envelope may be addressed: `to` lists addresses (`session_address`, `person_address`)
and only an outbox holding one of them writes its frame; the others on the same channel
drop it (a call's signals reach one tab of one agent, never the tenant's other agents).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.bus import Message
from server.chat import events_after
from server.events import event_to_frame
from server.metrics import Metrics
from server.store import Database

log = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Replay a conversation from the store after `after_seq` (None: from what was sent)."""

    conversation_id: str
    after_seq: int | None


@dataclass(frozen=True, slots=True)
class Synced:
    """Tell the client that the catch-ups queued before this one are complete."""

    conversation_ids: tuple[str, ...]


_STOP = object()


def session_address(session_id: str) -> str:
    """The address of one connection, for an envelope's `to`."""
    return f"session:{session_id}"


def person_address(kind: str, person_id: str) -> str:
    """The address of every connection of one agent or visitor (`signaling` Participant.key)."""
    return f"{kind}-{person_id}"


class Outbox:
    def __init__(
        self,
        send_text: SendText,
        db: Database,
        max_queue: int,
        page_size: int,
        on_overflow: Callable[[], None],
        skip: Callable[[dict[str, Any]], bool] = lambda frame: False,
        metrics: Metrics | None = None,
        addresses: frozenset[str] = frozenset(),
    ) -> None:
        self._metrics = metrics
        self.addresses = addresses
        self._send_text = send_text
        self._db = db
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=max_queue)
        self._page_size = page_size
        self._on_overflow = on_overflow
        self._skip = skip
        self.delivered: dict[str, int] = {}
        self.overflowed = False

    def track(self, conversation_id: str, seq: int) -> None:
        """Start from `seq` for a conversation the client holds up to it (before any event)."""
        self.delivered[conversation_id] = seq

    def send(self, frame: dict[str, Any]) -> None:
        self._put(frame)

    def deliver(self, envelope: Message) -> None:
        self._put(envelope)

    def catch_up(self, conversation_id: str, after_seq: int | None = None) -> None:
        self._put(CatchUp(conversation_id, after_seq))

    def synced(self, conversation_ids: list[str]) -> None:
        self._put(Synced(tuple(conversation_ids)))

    def stop(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_STOP)

    def _put(self, item: object) -> None:
        if self.overflowed:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            self._on_overflow()

    async def run(self) -> None:
        """The writer loop; returns when stopped, raises when the socket fails."""
        while True:
            item = await self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, CatchUp):
                await self._catch_up(item)
            elif isinstance(item, Synced):
                await self._write(
                    {
                        "type": "synced",
                        "conversations": {
                            cid: self.delivered.get(cid, 0) for cid in item.conversation_ids
                        },
                    }
                )
            elif isinstance(item, dict) and "frame" in item:
                await self._deliver_envelope(item)
            elif isinstance(item, dict):
                await self._write(item)

    async def _deliver_envelope(self, envelope: Message) -> None:
        frame = envelope["frame"]
        to = envelope.get("to")
        if to is not None and self.addresses.isdisjoint(to):
            return
        if self._skip(frame):
            return
        seq = envelope.get("seq")
        conversation_id = envelope.get("conversation_id")
        if seq is None or conversation_id is None:
            await self._write(frame)
            return
        last = self.delivered.get(conversation_id)
        if last is None:
            self.delivered[conversation_id] = seq
            await self._write(frame)
            return
        if seq <= last:
            return
        if seq > last + 1:
            await self._replay(conversation_id, last, until_seq=seq)
            if seq <= self.delivered[conversation_id]:
                return
        self.delivered[conversation_id] = seq
        await self._write(frame)

    async def _catch_up(self, item: CatchUp) -> None:
        if item.after_seq is not None:
            self.delivered[item.conversation_id] = item.after_seq
        after = self.delivered.setdefault(item.conversation_id, 0)
        await self._replay(item.conversation_id, after, until_seq=None)

    async def _replay(self, conversation_id: str, after_seq: int, until_seq: int | None) -> None:
        while True:
            events = await events_after(
                self._db, conversation_id, after_seq, self._page_size, until_seq
            )
            if self._metrics is not None and events:
                self._metrics.replayed.inc(len(events))
            for event in events:
                await self._write(event_to_frame(event))
                after_seq = event.seq
                self.delivered[conversation_id] = event.seq
            if len(events) < self._page_size:
                return

    async def _write(self, frame: dict[str, Any]) -> None:
        if self._metrics is not None:
            self._metrics.frames_out.inc()
            if frame.get("type") == "error":
                self._metrics.errors.labels(frame.get("code", "")).inc()
        await self._send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))
