"""A client that does what docs/protocol.md asks of one, and records what it saw.

`ResumingClient` keeps, per conversation, the last seq it applied; applies events in seq
order and ignores a seq it already applied (counted in `ignored`); keeps every
`message.send` it has not seen acked, and after reconnecting (to whichever node answers)
says `hello.resume` with its seqs and resends them with the same ids. Any seq that jumps
ahead is a gap the server promised never to send: it is recorded (and a `resume` asked
for, as a real client would). Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

EVENT_TYPES = ("message.new", "conversation.updated")
RECONNECT_DEADLINE = 30.0


@dataclass
class Connection:
    """One connection's story: where, what it resumed from, what the server replied."""

    url: str
    resume: dict[str, int]
    welcome: dict[str, Any] | None = None
    synced: dict[str, Any] | None = None
    resent: list[str] = field(default_factory=list)


class ResumingClient:
    def __init__(
        self, name: str, token: str, urls: list[str], conversations: list[str] | tuple[str, ...]
    ) -> None:
        self.name = name
        self.token = token
        self.urls = urls
        self.node = 0
        self.last_seq: dict[str, int] = dict.fromkeys(conversations, 0)
        self.applied: dict[str, list[dict[str, Any]]] = {cid: [] for cid in conversations}
        self.pending: dict[str, dict[str, Any]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.ack_count: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.gaps: list[tuple[str, int, int]] = []
        self.ignored = 0
        self.connections: list[Connection] = []
        self.failures: list[str] = []
        self.auto_reconnect = True
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._closing = False
        self._ids = itertools.count(1)
        self._send_lock = asyncio.Lock()

    # Connecting
    @property
    def connected(self) -> bool:
        return self._ws is not None

    @property
    def resumes(self) -> list[Connection]:
        """Connections after the first that completed their replay (`synced`)."""
        return [c for c in self.connections[1:] if c.synced is not None]

    async def connect(self, node: int | None = None, timeout: float = 10.0) -> Connection:
        """Open a connection to `urls[node]`, say hello with our seqs, resend unacked sends."""
        if node is not None:
            self.node = node
        url = self.urls[self.node]
        ws = await connect(url, max_size=None, open_timeout=timeout, ping_interval=None)
        record = Connection(url, dict(self.last_seq))
        self.connections.append(record)
        try:
            await ws.send(
                json.dumps({"type": "hello", "token": self.token, "resume": record.resume})
            )
            deadline = time.monotonic() + timeout
            while record.welcome is None:
                raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
                frame = json.loads(raw)
                if frame.get("type") == "welcome":
                    record.welcome = frame
                else:
                    self._handle(frame, record)
        except BaseException:
            await ws.close()
            raise
        async with self._send_lock:  # resends go out before any new send, in their order
            self._ws = ws
            self._reader = asyncio.create_task(self._read(ws, record), name=f"{self.name}-reader")
            for client_id, frame in list(self.pending.items()):
                record.resent.append(client_id)
                await self._send_raw(frame)
        return record

    async def _reconnect(self) -> None:
        """Try the nodes in turn, starting with the next one, until one answers or time is up."""
        deadline = time.monotonic() + RECONNECT_DEADLINE
        delay = 0.05
        while not self._closing and time.monotonic() < deadline:
            self.node = (self.node + 1) % len(self.urls)
            try:
                await self.connect(timeout=5.0)
                return
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI, ConnectionClosed):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
        if not self._closing:
            self.failures.append(f"{self.name}: no node answered within {RECONNECT_DEADLINE}s")
            self._changed.set()

    async def _read(self, ws: ClientConnection, record: Connection) -> None:
        try:
            async for raw in ws:
                self._handle(json.loads(raw), record)
        except ConnectionClosed:
            pass
        if self._ws is ws:
            self._ws = None
        self._changed.set()
        if self.auto_reconnect and not self._closing:
            await self._reconnect()

    async def close(self) -> None:
        self._closing = True
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader

    async def drop(self) -> None:
        """Close our side without reconnecting (a closed tab)."""
        self.auto_reconnect = False
        await self.close()

    # Frames in
    def _handle(self, frame: dict[str, Any], record: Connection) -> None:
        kind = frame.get("type")
        if kind in EVENT_TYPES:
            self._apply(frame)
        elif kind == "message.ack":
            client_id = frame["id"]
            self.ack_count[client_id] = self.ack_count.get(client_id, 0) + 1
            self.acks.setdefault(client_id, frame)
            self.pending.pop(client_id, None)
        elif kind == "error":
            self.errors.append({**frame, "at": time.monotonic()})
        elif kind == "synced":
            record.synced = frame
        else:
            self.ephemeral.append(frame)
        self._changed.set()

    def _apply(self, frame: dict[str, Any]) -> None:
        cid = frame["conversation_id"]
        seq = frame["seq"]
        last = self.last_seq.get(cid, 0)
        if seq <= last:
            self.ignored += 1
            return
        if seq > last + 1:
            # Never sent by a correct server; ask for the missing ones like a real client.
            self.gaps.append((cid, last, seq))
            if self._ws is not None:
                frame_out = {"type": "resume", "conversations": {cid: last}}
                task = asyncio.ensure_future(self._send_raw(frame_out))
                task.add_done_callback(lambda t: t.exception())
            return
        self.last_seq[cid] = seq
        self.applied.setdefault(cid, []).append(frame)

    # Frames out
    async def _send_raw(self, frame: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None:
            return  # resent after reconnecting
        with contextlib.suppress(ConnectionClosed):
            await ws.send(json.dumps(frame))

    async def send_message(
        self, conversation_id: str, text: str, client_id: str | None = None
    ) -> str:
        """Queue a send (kept until acked) and put it on the wire if connected."""
        client_id = client_id or f"{self.name}-{next(self._ids)}"
        frame = {
            "type": "message.send",
            "id": client_id,
            "conversation_id": conversation_id,
            "text": text,
        }
        async with self._send_lock:
            self.pending[client_id] = frame
            await self._send_raw(frame)
        return client_id

    async def resend_pending(self) -> None:
        for frame in list(self.pending.values()):
            await self._send_raw(frame)

    async def send(self, frame: dict[str, Any]) -> None:
        await self._send_raw(frame)

    # Waiting
    async def wait_for(
        self, condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.failures:
                raise AssertionError("; ".join(self.failures))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {what} within {timeout}s; {self.describe()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_frame(self, kind: str, timeout: float = 15.0, **fields: Any) -> dict[str, Any]:
        """An ephemeral frame (typing, presence, read, pong, ...) seen at any time."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            for frame in self.ephemeral:
                if frame.get("type") == kind and all(frame.get(k) == v for k, v in fields.items()):
                    found.append(frame)
                    return True
            return False

        await self.wait_for(seen, timeout, f"{kind} {fields}")
        return found[0]

    async def wait_acked(self, client_ids: list[str], timeout: float = 15.0) -> None:
        await self.wait_for(
            lambda: all(cid in self.acks for cid in client_ids), timeout, f"acks of {client_ids}"
        )

    async def wait_seq(self, conversation_id: str, seq: int, timeout: float = 15.0) -> None:
        await self.wait_for(
            lambda: self.last_seq.get(conversation_id, 0) >= seq,
            timeout,
            f"seq {seq} of {conversation_id}",
        )

    def describe(self) -> str:
        """What this client knows, for failure messages."""
        return (
            f"{self.name}: node {self.node}, connected={self.connected}, "
            f"connections={[(c.url, c.resume, c.synced) for c in self.connections]}, "
            f"last_seq={self.last_seq}, pending={list(self.pending)}, gaps={self.gaps}, "
            f"errors={self.errors[-3:]}, failures={self.failures}"
        )

    def texts(self, conversation_id: str) -> list[str]:
        return [
            f["message"]["text"]
            for f in self.applied[conversation_id]
            if f["type"] == "message.new"
        ]

    def seqs(self, conversation_id: str) -> list[int]:
        return [f["seq"] for f in self.applied[conversation_id]]
