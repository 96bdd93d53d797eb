"""The WebSocket endpoint `/ws`: handshake, receive loop, limits, and frame handlers.

A connection lives in three steps: (1) the client has `hello_timeout_seconds` to send
`hello {token, resume}`, else close 4001; a bad token gets an `error` and close 4003.
(2) `welcome`, then the replay of every resumed conversation, then `synced`. (3) The
receive loop: each frame is size-checked, rate-limited, parsed by `protocol`, and
handled one at a time (so one client's sends get seqs in the order it sent them).
Errors that leave the connection usable become `error {id, code, message}` frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select

from server.auth import Principal
from server.chat import conversation_for, post_message
from server.connection import Outbox, person_address, session_address
from server.conversations import mark_read
from server.errors import KefuError, Unauthorized
from server.events import staff_channel, visitor_channel
from server.logs import connection_id
from server.protocol import (
    PROTOCOL_VERSION,
    CloseCode,
    Hello,
    MessageSend,
    Ping,
    ProtocolError,
    Read,
    Resume,
    Typing,
    error_frame,
    iso,
    parse_client_frame,
)
from server.runtime import Runtime
from server.store.models import Agent, Conversation, Visitor, utcnow
from server.tenants import agent_principal
from server.visitors import visitor_principal

log = logging.getLogger(__name__)
router = APIRouter()

# Frames outside the per-connection rate: `call.signal` has its own budget per call in
# `signaling.relay` (an ICE gathering bursts dozens of candidates), and server/calls.py
# charges this connection's rate for every signal it refuses.
UNMETERED_FRAMES = frozenset({"call.signal"})


class TokenBucket:
    """`rate` frames per second on average, `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Session:
    """One authenticated WebSocket connection."""

    def __init__(self, runtime: Runtime, websocket: WebSocket, principal: Principal) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.websocket = websocket
        self.principal = principal
        self.id = uuid.uuid4().hex[:12]
        self.closing: int | None = None
        self.farewell: dict[str, Any] | None = None
        """A last frame written just before closing (why the connection ends)."""
        self.done = asyncio.Event()
        self.outbox = Outbox(
            send_text=websocket.send_text,
            db=runtime.db,
            max_queue=self.settings.send_queue_max,
            page_size=self.settings.replay_page_size,
            on_overflow=self._overflowed,
            skip=self._is_own_ephemeral,
            metrics=runtime.metrics,
            addresses=frozenset(
                {session_address(self.id), person_address(principal.kind, principal.id)}
            ),
        )
        self.rate = TokenBucket(self.settings.rate_per_second, self.settings.rate_burst)
        self.visible: set[str] = set()
        self.last_typing: dict[str, tuple[bool, float]] = {}

    @property
    def channel(self) -> str:
        if self.principal.is_staff:
            return staff_channel(self.principal.tenant_id)
        return visitor_channel(self.principal.id)

    # Delivery from the hub
    def deliver(self, envelope: dict[str, Any]) -> None:
        if envelope.get("revoke") and not self.outbox.addresses.isdisjoint(envelope.get("to", ())):
            # The person's access ended (an agent deactivated): say why, then close 4003.
            self.farewell = envelope["frame"]
            self.close_soon(CloseCode.UNAUTHORIZED)
            return
        self.outbox.deliver(envelope)

    def resync(self) -> None:
        """Catch up every conversation this client holds (the bus may have lost some)."""
        for conversation_id in list(self.outbox.delivered):
            self.outbox.catch_up(conversation_id)

    def _is_own_ephemeral(self, frame: dict[str, Any]) -> bool:
        if frame.get("type") != "typing":
            return False
        author = frame.get("author") or {}
        return author.get("id") == self.principal.id

    def _overflowed(self) -> None:
        self.runtime.metrics.slow_consumers.inc()
        log.warning("connection %s too slow to read; closing with 4008", self.id)
        self.close_soon(CloseCode.SLOW_CONSUMER)

    def close_soon(self, code: int) -> None:
        if self.closing is None:
            self.closing = code
        self.done.set()

    # The conversation access cache: staff see the tenant's, visitors their own.
    async def check_visible(self, conversation_id: str) -> None:
        if conversation_id in self.visible:
            return
        async with self.runtime.db.read() as session:
            await conversation_for(session, self.principal, conversation_id)
        self.visible.add(conversation_id)

    async def conversation_owner(self, conversation_id: str) -> str:
        async with self.runtime.db.read() as session:
            conversation = await conversation_for(session, self.principal, conversation_id)
        return conversation.visitor_id

    # Handlers
    async def start(self, hello: Hello) -> None:
        resume = dict(list(hello.resume.items())[: self.settings.max_resume_conversations])
        summaries = await self._own_conversations()
        self.outbox.send(await self.welcome_frame(summaries))
        accepted = await self._visible_only(resume)
        for conversation_id in accepted:
            self.outbox.track(conversation_id, resume[conversation_id])
        await self.runtime.hub.join(self.channel, self)
        for conversation_id in accepted:
            self.outbox.catch_up(conversation_id)
        self.outbox.synced(accepted)

    async def _own_conversations(self) -> list[dict[str, Any]]:
        if self.principal.is_staff:
            return []
        query = (
            select(Conversation)
            .where(
                Conversation.tenant_id == self.principal.tenant_id,
                Conversation.visitor_id == self.principal.id,
            )
            .order_by(Conversation.created_at.desc())
            .limit(50)
        )
        async with self.runtime.db.read() as session:
            rows = list(await session.scalars(query))
        self.visible.update(c.id for c in rows)
        return [
            {"id": c.id, "status": c.status, "last_seq": c.last_seq, "assignee_id": c.assignee_id}
            for c in rows
        ]

    def _welcome(self, conversations: list[dict[str, Any]]) -> dict[str, Any]:
        s = self.settings
        return {
            "type": "welcome",
            "protocol": PROTOCOL_VERSION,
            "session_id": self.id,
            "server_time": iso(utcnow()),
            "user": {
                "kind": self.principal.kind,
                "id": self.principal.id,
                "tenant_id": self.principal.tenant_id,
                "role": self.principal.role,
                "name": self.principal.name,
            },
            "conversations": conversations,
            "limits": {
                "max_frame_bytes": s.max_frame_bytes,
                "max_text_chars": s.max_text_chars,
                "send_queue_max": s.send_queue_max,
                "rate_per_second": s.rate_per_second,
                "rate_burst": s.rate_burst,
                "max_resume_conversations": s.max_resume_conversations,
            },
            "ice_servers": [],
        }

    async def welcome_frame(self, conversations: list[dict[str, Any]]) -> dict[str, Any]:
        frame = self._welcome(conversations)
        for extra in self.runtime.hooks.welcome_extras:
            frame.update(await extra(self))
        return frame

    async def handle(self, frame: Any) -> None:
        extra = self.runtime.hooks.frame_handlers.get(getattr(frame, "type", ""))
        if extra is not None:
            await extra(self, frame)
        elif isinstance(frame, MessageSend):
            await self.on_message_send(frame)
        elif isinstance(frame, Ping):
            self.outbox.send({"type": "pong", "id": frame.id, "server_time": iso(utcnow())})
        elif isinstance(frame, Typing):
            await self.on_typing(frame)
        elif isinstance(frame, Read):
            await self.on_read(frame)
        elif isinstance(frame, Resume):
            await self.on_resume(frame)
        elif isinstance(frame, Hello):
            raise ProtocolError("already_authenticated", "hello was already received")

    async def on_message_send(self, frame: MessageSend) -> None:
        posted = await post_message(
            self.runtime.db,
            self.principal,
            frame.conversation_id,
            frame.id,
            frame.text,
            self.settings.max_text_chars,
        )
        message = posted.message
        self.visible.add(frame.conversation_id)
        self.runtime.metrics.acks.labels(str(posted.duplicate).lower()).inc()
        self.outbox.send(
            {
                "type": "message.ack",
                "id": frame.id,
                "conversation_id": message.conversation_id,
                "seq": message.seq,
                "message_id": message.id,
                "duplicate": posted.duplicate,
            }
        )
        # A resend rings the doorbell again: harmless (followers drop seen seqs) and it
        # repairs a publish lost between the first commit and a crash.
        events = [message] if posted.duplicate else posted.new_events
        await self.runtime.notifier.publish_events(
            self.principal.tenant_id, posted.conversation.visitor_id, events
        )
        if not posted.duplicate:
            hooks = self.runtime.hooks
            for listener in hooks.after_post:
                hooks.spawn(listener(self.runtime, self.principal, posted), "after_post")

    async def on_typing(self, frame: Typing) -> None:
        now = time.monotonic()
        previous = self.last_typing.get(frame.conversation_id)
        if (
            previous is not None
            and previous[0] == frame.state
            and now - previous[1] < self.settings.typing_min_interval_seconds
        ):
            return
        visitor_id = await self.conversation_owner(frame.conversation_id)
        self.last_typing[frame.conversation_id] = (frame.state, now)
        await self.runtime.notifier.publish_ephemeral(
            self.principal.tenant_id,
            visitor_id,
            frame.conversation_id,
            {
                "type": "typing",
                "conversation_id": frame.conversation_id,
                "author": self._author(),
                "state": frame.state,
            },
            to_visitor=self.principal.is_staff,
        )

    async def on_read(self, frame: Read) -> None:
        visitor_id = await self.conversation_owner(frame.conversation_id)
        seq = await mark_read(self.runtime.db, self.principal, frame.conversation_id, frame.seq)
        await self.runtime.notifier.publish_ephemeral(
            self.principal.tenant_id,
            visitor_id,
            frame.conversation_id,
            {
                "type": "read",
                "conversation_id": frame.conversation_id,
                "reader": self._author(),
                "seq": seq,
            },
        )

    async def on_resume(self, frame: Resume) -> None:
        if len(frame.conversations) > self.settings.max_resume_conversations:
            raise ProtocolError(
                "too_many_conversations",
                f"resume at most {self.settings.max_resume_conversations} conversations",
            )
        accepted = await self._visible_only(frame.conversations)
        for conversation_id in accepted:
            self.outbox.catch_up(conversation_id, frame.conversations[conversation_id])
        self.outbox.synced(accepted)

    async def _visible_only(self, wanted: dict[str, int]) -> list[str]:
        """The conversations of `wanted` this caller may see; an error frame for each other."""
        visible = []
        for conversation_id in wanted:
            try:
                await self.check_visible(conversation_id)
            except KefuError as exc:
                self.outbox.send(error_frame(exc.code, f"{exc.message}: {conversation_id}"))
                continue
            visible.append(conversation_id)
        return visible

    def _author(self) -> dict[str, Any]:
        return {"type": self.principal.kind, "id": self.principal.id, "name": self.principal.name}


async def _authenticate(runtime: Runtime, hello: Hello) -> Principal:
    principal = runtime.signer.verify(hello.token)
    async with runtime.db.read() as session:
        if principal.kind == "agent":
            agent = await session.get(Agent, principal.id)
            if agent is None or not agent.active or agent.tenant_id != principal.tenant_id:
                raise Unauthorized("this agent can no longer sign in", "invalid_token")
            return agent_principal(agent)
        visitor = await session.get(Visitor, principal.id)
        if visitor is None or visitor.tenant_id != principal.tenant_id:
            raise Unauthorized("unknown visitor", "invalid_token")
        return visitor_principal(visitor)


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text frame; None for a binary frame. Raises WebSocketDisconnect at the end."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if text is not None else None


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    try:
        raw = await asyncio.wait_for(_receive_text(websocket), settings.hello_timeout_seconds)
        if raw is None:
            raise ProtocolError("invalid_frame", "frames are JSON text, not binary")
        hello = parse_client_frame(raw)
        if not isinstance(hello, Hello):
            raise ProtocolError("not_authenticated", "the first frame must be hello")
        principal = await _authenticate(runtime, hello)
    except TimeoutError:
        await _close(websocket, CloseCode.HELLO_TIMEOUT, "hello_timeout")
        return
    except WebSocketDisconnect:
        return
    except KefuError as exc:
        with contextlib.suppress(Exception):
            await websocket.send_json(error_frame(exc.code, exc.message, retryable=exc.retryable))
        await _close(websocket, CloseCode.UNAUTHORIZED, exc.code)
        return

    session = Session(runtime, websocket, principal)
    connection_id.set(session.id)
    gauge = runtime.metrics.connections.labels(principal.kind)
    gauge.inc()
    try:
        await _serve(session, hello)
    finally:
        gauge.dec()


async def _serve(session: Session, hello: Hello) -> None:
    runtime = session.runtime
    principal = session.principal
    try:
        await session.start(hello)
    except KefuError as exc:
        session.outbox.send(error_frame(exc.code, exc.message, retryable=exc.retryable))
    # The writer starts only now: `welcome` waits in the queue until the connection has
    # joined the bus, so a client that acts on `welcome` cannot miss a live event.
    writer = asyncio.create_task(session.outbox.run())
    reader = asyncio.create_task(_receive_loop(session))
    watcher = asyncio.create_task(session.done.wait())
    if principal.is_staff and await runtime.presence.connected(principal.tenant_id, principal.id):
        await _publish_presence(session, online=True)
        _presence_hooks(runtime, principal, online=True)
    for opened in runtime.hooks.on_session_open:
        await opened(session)
    try:
        await asyncio.wait({writer, reader, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, watcher):
            task.cancel()
        if writer.done() and not writer.cancelled() and writer.exception() is not None:
            log.info("connection %s writer ended: %r", session.id, writer.exception())
        writer.cancel()
        await asyncio.gather(writer, reader, watcher, return_exceptions=True)
        await runtime.hub.leave(session.channel, session)
        if principal.is_staff and await runtime.presence.disconnected(
            principal.tenant_id, principal.id
        ):
            await _publish_presence(session, online=False)
            _presence_hooks(runtime, principal, online=False)
        for closed in runtime.hooks.on_session_close:
            await closed(session)
        if session.closing is not None:
            if session.farewell is not None:
                with contextlib.suppress(Exception):
                    text = json.dumps(session.farewell, separators=(",", ":"))
                    await asyncio.wait_for(session.websocket.send_text(text), 2)
            reason = _CLOSE_REASONS.get(session.closing, "closing")
            await _close(session.websocket, session.closing, reason)


def _presence_hooks(runtime: Runtime, principal: Principal, online: bool) -> None:
    for listener in runtime.hooks.on_presence:
        runtime.hooks.spawn(
            listener(runtime, principal.tenant_id, principal.id, online), "on_presence"
        )


async def _publish_presence(session: Session, online: bool) -> None:
    principal = session.principal
    async with session.runtime.db.read() as db_session:
        agent = await db_session.get(Agent, principal.id)
    status = agent.status if agent else "offline"
    await session.runtime.notifier.publish_ephemeral(
        principal.tenant_id,
        None,
        None,
        {
            "type": "presence",
            "agent_id": principal.id,
            "name": principal.name,
            "status": status,
            "connected": online,
            "online": online and status == "online",
        },
        to_visitor=False,
    )


async def _receive_loop(session: Session) -> None:
    websocket = session.websocket
    limit = session.settings.max_frame_bytes
    while True:
        try:
            raw = await _receive_text(websocket)
        except WebSocketDisconnect:
            return
        frame_id: str | None = None
        try:
            if raw is None:
                raise ProtocolError("invalid_frame", "frames are JSON text, not binary")
            if len(raw) > limit or len(raw.encode()) > limit:
                raise ProtocolError("frame_too_large", f"frames are limited to {limit} bytes")
            try:
                frame = parse_client_frame(raw, session.runtime.hooks.client_frames)
            except ProtocolError as exc:
                if session.rate.take():
                    raise
                frame_id = exc.frame_id
                raise _rate_limited(frame_id) from None
            frame_id = getattr(frame, "id", None)
            frame_type: str = frame.type  # type: ignore[attr-defined]
            session.runtime.metrics.frames_in.labels(frame_type).inc()
            if frame_type not in UNMETERED_FRAMES and not session.rate.take():
                raise _rate_limited(frame_id)
            await session.handle(frame)
        except ProtocolError as exc:
            session.outbox.send(
                error_frame(
                    exc.code,
                    exc.message,
                    exc.frame_id or frame_id,
                    retryable=exc.code == "rate_limited",
                )
            )
        except KefuError as exc:
            session.outbox.send(error_frame(exc.code, exc.message, frame_id, exc.retryable))
        except Exception:
            log.exception("connection %s: frame failed", session.id)
            session.outbox.send(
                error_frame("internal_error", "the server failed on this frame", frame_id)
            )


def _rate_limited(frame_id: str | None) -> ProtocolError:
    return ProtocolError("rate_limited", "too many frames; slow down and retry", frame_id)


_CLOSE_REASONS = {CloseCode.SLOW_CONSUMER: "slow_consumer", CloseCode.UNAUTHORIZED: "unauthorized"}


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code=code, reason=reason), 2)
