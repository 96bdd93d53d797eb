"""Calls in the gateway: the `call.*` frames wired to `signaling`, timers, delivery, history.

Installed by `install(runtime)` like translation and routing. `signaling` decides (who
may call whom, busy, what state a call is in, which signals pass); this module does the
I/O around it:

- Frames: every client `call.*` frame of `signaling.frames.CALL_FRAMES` is registered
  with `hooks.add_frame`. A refusal becomes `error {id, code, message, call_id?, ...}`
  (`signaling.frames.error_frame`); an outsider naming someone else's conversation gets
  `conversation_not_found`, as for every other frame.
- Delivery: every server call frame goes through the bus as an ephemeral, ADDRESSED
  envelope (seq None, `to` = addresses, see `server.connection`): to every connection
  of a participant (`call.ringing`, `call.incoming`, `call.accepted`, `call.state`,
  `call.ended`) or to the one connection bound to the call (`call.signal`). The staff
  channel reaches every agent of the tenant, so the address is what keeps the other
  agents (and every supervisor) from seeing a call's SDP and candidates.
- Timers: one background loop sleeps until `registry.next_deadline()`, woken early by
  every operation that may move a deadline, and applies `check_timeouts` (ring timeout:
  `missed`; a lost connection past the grace: `dropped`).
- Connections: `welcome` carries `ice_servers` (fresh TURN credentials) and `calls`
  (the limits); right after `welcome` (and its replay) a connection whose person is in a
  live call gets `call.state`, so a new tab rings too and a reconnected tab can
  `call.rejoin`. A closed connection bound to a call interrupts it (both sides get
  `call.state`) or, for a ringing caller, ends it `dropped`.
- History: `call.started` (when placed, a busy call too) and `call.ended` (reason,
  duration) are appended to the conversation's log with a seq, like messages, published
  to its followers and replayed. The writes of one call are chained, so `call.started`
  always has the smaller seq; they run in the background (a slow store never delays
  ringing), and the live frames never wait for them.

Decisions:
- A closed conversation cannot be called (`conversation_closed`): the shopper writes (which
  reopens it and lets routing find an agent), an agent reopens it first. A call already
  live is not ended by closing, transferring or reassigning the conversation: people end
  calls, the inbox does not.
- The registry is per node (`signaling.registry`); with several nodes each tenant's calls
  live on one of them, its call home, and the others forward their clients' call frames
  and connection opens/closes to it (`server.call_home`, which explains why and what a
  dying home costs). The handlers here take any `CallSession`: a local connection or a
  `call_home.RemoteSession`. Delivery goes through the bus, so it crosses nodes as is.
- A node that shuts down ends its live calls `failed`, announced and stored.
- Refused `call.signal` frames cost the connection's rate (`rate_limited` once it is
  spent); accepted ones are bounded only by the per-call budget of `signaling.relay`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Principal
from server.bus import Message
from server.call_home import CallHome
from server.chat import append_event, conversation_for
from server.connection import person_address, session_address
from server.events import staff_channel, visitor_channel
from server.protocol import ProtocolError, iso
from server.runtime import Runtime
from server.store.models import Agent, Conversation, Visitor
from signaling.errors import CannotCall, SignalingError
from signaling.frames import (
    CALL_FRAMES,
    CallAccept,
    CallCancel,
    CallDecline,
    CallHangup,
    CallInvite,
    CallRejoin,
    CallSignal,
    HistoryEvent,
    accepted_frame,
    ended_frame,
    error_frame,
    history_ended,
    history_started,
    incoming_frame,
    ringing_frame,
    state_frame,
)
from signaling.ice import IceConfig, RTCIceServer, credential_expiry, ice_servers_for
from signaling.participants import ConversationParties, Participant
from signaling.registry import CallRegistry
from signaling.relay import SignalRelay
from signaling.state import Call, EndReason

if TYPE_CHECKING:
    from server.gateway import Session

log = logging.getLogger(__name__)

# A timer that fires a hair before the deadline finds nothing to do and sleeps again.
_TIMER_SLACK = 0.005
_SHUTDOWN_WRITE_SECONDS = 5.0


def now() -> datetime:
    return datetime.now(UTC)


def participant_of(principal: Principal) -> Participant:
    return Participant(principal.kind, principal.id)


class _Rate(Protocol):
    def take(self) -> bool: ...


class _Sink(Protocol):
    def send(self, frame: dict[str, Any]) -> None: ...


class CallSession(Protocol):
    """What the handlers need of a connection: `gateway.Session` or a remote one."""

    @property
    def id(self) -> str: ...

    @property
    def principal(self) -> Principal: ...

    @property
    def rate(self) -> _Rate: ...

    @property
    def outbox(self) -> _Sink: ...


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the gateway knows of a live call beyond `signaling`: where its people are."""

    tenant_id: str
    visitor_id: str
    names: dict[Participant, str]


class CallService:
    """The calls of this node: registry, relay, ICE configuration, timers and history."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.ice = IceConfig(settings.ice_urls, settings.turn_secret, settings.turn_ttl_seconds)
        self.registry = CallRegistry(
            ring_timeout=settings.call_ring_timeout_seconds,
            reconnect_grace=settings.call_reconnect_grace_seconds,
        )
        self.relay = SignalRelay()
        self._info: dict[str, CallInfo] = {}
        self._history: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self.home: CallHome | None = None  # set by `install`
        self.handlers: dict[str, Callable[[CallSession, Any], Awaitable[None]]] = {
            "call.invite": self.on_invite,
            "call.accept": self.on_accept,
            "call.decline": self.on_decline,
            "call.cancel": self.on_cancel,
            "call.hangup": self.on_hangup,
            "call.rejoin": self.on_rejoin,
            "call.signal": self.on_signal,
        }
        assert set(self.handlers) == set(CALL_FRAMES), "every call frame needs a handler"

    # --- ICE ---------------------------------------------------------------------------

    def ice_servers(self, who: Participant) -> list[RTCIceServer]:
        return ice_servers_for(self.ice, who.key, now())

    def ice_payload(self, who: Participant) -> dict[str, Any]:
        """The REST answer: the list, and when its TURN credentials stop working."""
        at = now()
        expires = (
            iso(datetime.fromtimestamp(credential_expiry(self.ice, at), UTC))
            if self.ice.turn_urls
            else None
        )
        return {
            "ice_servers": ice_servers_for(self.ice, who.key, at),
            "ttl_seconds": self.ice.turn_ttl,
            "expires_at": expires,
        }

    def limits(self) -> dict[str, Any]:
        relay = self.relay
        return {
            "ring_timeout_seconds": self.registry.ring_timeout,
            "reconnect_grace_seconds": self.registry.reconnect_grace,
            "max_sdp_bytes": relay.max_sdp_bytes,
            "max_candidate_bytes": relay.max_candidate_bytes,
            "max_candidates_per_call": relay.max_candidates_per_call,
            "candidate_rate": relay.candidate_rate,
            "candidate_burst": relay.candidate_burst,
            "max_descriptions_per_call": relay.max_descriptions_per_call,
        }

    # --- delivery ----------------------------------------------------------------------

    async def _publish(
        self, info: CallInfo, who: Participant, to: str, call: Call, frame: dict[str, Any]
    ) -> None:
        channel = (
            visitor_channel(who.id) if who.kind == "visitor" else staff_channel(info.tenant_id)
        )
        envelope: Message = {
            "conversation_id": call.conversation_id,
            "seq": None,
            "frame": frame,
            "ts": time.time(),
            "to": [to],
        }
        await self.runtime.bus.publish(channel, envelope)

    async def _to_person(
        self, info: CallInfo, who: Participant, call: Call, frame: dict[str, Any]
    ) -> None:
        """Every connection of `who`, on any node."""
        await self._publish(info, who, person_address(who.kind, who.id), call, frame)

    async def _to_session(
        self, info: CallInfo, who: Participant, session_id: str, call: Call, frame: dict[str, Any]
    ) -> None:
        """One connection of `who` and nobody else."""
        await self._publish(info, who, session_address(session_id), call, frame)

    async def _announce_state(
        self,
        call: Call,
        info: CallInfo,
        actor: Participant | None = None,
        frame_id: str | None = None,
    ) -> None:
        for who in call.participants:
            mine = who == actor
            frame = state_frame(
                call,
                who,
                ice_servers=self.ice_servers(who) if mine else None,
                frame_id=frame_id if mine else None,
                names=info.names,
            )
            await self._to_person(info, who, call, frame)

    async def _finish(
        self,
        call: Call,
        actor: Participant | None = None,
        frame_id: str | None = None,
        wait: bool = False,
    ) -> None:
        """A call ended: tell both participants and store `call.ended` (once per call)."""
        self.relay.forget(call.id)
        self._wake.set()
        info = self._info.pop(call.id, None)
        if info is None:
            return
        for who in call.participants:
            mine = who == actor
            frame = ended_frame(call, frame_id=frame_id if mine else None, names=info.names)
            await self._to_person(info, who, call, frame)
        task = self._record(call, history_ended(call), info)
        if wait:
            await asyncio.wait([task], timeout=_SHUTDOWN_WRITE_SECONDS)

    # --- history -----------------------------------------------------------------------

    def _record(self, call: Call, event: HistoryEvent, info: CallInfo) -> asyncio.Task[None]:
        """Append `event` to the conversation's log after the call's earlier ones."""
        previous = self._history.get(call.id)
        call_id = call.id
        conversation_id = call.conversation_id

        async def write() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await self._store(conversation_id, info, event)

        task = self.runtime.hooks.spawn(write(), f"call history {event.type}")
        self._history[call_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._history.get(call_id) is done:
                del self._history[call_id]

        task.add_done_callback(forget)
        return task

    async def _store(self, conversation_id: str, info: CallInfo, event: HistoryEvent) -> None:
        author = None
        if event.author is not None:
            author = Principal(
                event.author.kind,
                event.author.id,
                info.tenant_id,
                event.author.kind,
                info.names.get(event.author, ""),
            )
        async with self.runtime.db.write() as session:
            conversation = await session.scalar(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update()
            )
            if conversation is None:
                return
            stored = append_event(session, conversation, event.type, author, event.data)
        await self.runtime.notifier.publish_events(info.tenant_id, info.visitor_id, [stored])

    async def history_settled(self) -> None:
        """Wait for the history writes running now (tests use it)."""
        while tasks := [task for task in self._history.values() if not task.done()]:
            await asyncio.wait(tasks)

    # --- frames ------------------------------------------------------------------------

    async def on_invite(self, session: CallSession, frame: CallInvite) -> None:
        principal = session.principal
        async with self.runtime.db.read() as db:
            conversation = await conversation_for(db, principal, frame.conversation_id)
            names = await self._names(db, conversation)
        if conversation.status == "closed":
            raise CannotCall(
                "this conversation is closed; write to reopen it, then call",
                "conversation_closed",
            )
        parties = ConversationParties(
            conversation.id, conversation.visitor_id, conversation.assignee_id
        )
        me = participant_of(principal)
        call = self.registry.invite(parties, me, session.id, frame.media, now())
        info = CallInfo(principal.tenant_id, conversation.visitor_id, names)
        self._info[call.id] = info
        self._record(call, history_started(call), info)
        if not call.is_live:  # the callee is busy: announced and stored like any ending
            await self._finish(call, actor=me, frame_id=frame.id)
            return
        self._wake.set()
        ringing = ringing_frame(call, self.ice_servers(me), frame_id=frame.id, names=names)
        await self._to_person(info, me, call, ringing)
        incoming = incoming_frame(call, self.ice_servers(call.callee), names=names)
        await self._to_person(info, call.callee, call, incoming)

    async def on_accept(self, session: CallSession, frame: CallAccept) -> None:
        me = participant_of(session.principal)
        call = self.registry.accept(frame.call_id, me, session.id, now())
        self._wake.set()
        info = self._info.get(call.id)
        if info is None:
            return
        for who in call.participants:
            frame_id = frame.id if who == me else None
            await self._to_person(info, who, call, accepted_frame(call, who, frame_id=frame_id))

    async def on_decline(self, session: CallSession, frame: CallDecline) -> None:
        me = participant_of(session.principal)
        call = self.registry.decline(frame.call_id, me, now())
        await self._finish(call, actor=me, frame_id=frame.id)

    async def on_cancel(self, session: CallSession, frame: CallCancel) -> None:
        me = participant_of(session.principal)
        call = self.registry.cancel(frame.call_id, me, now())
        await self._finish(call, actor=me, frame_id=frame.id)

    async def on_hangup(self, session: CallSession, frame: CallHangup) -> None:
        me = participant_of(session.principal)
        call = self.registry.hangup(frame.call_id, me, now(), EndReason(frame.reason))
        await self._finish(call, actor=me, frame_id=frame.id)

    async def on_rejoin(self, session: CallSession, frame: CallRejoin) -> None:
        me = participant_of(session.principal)
        call = self.registry.rejoin(frame.call_id, me, session.id, now())
        self._wake.set()
        info = self._info.get(call.id)
        if info is not None:
            await self._announce_state(call, info, actor=me, frame_id=frame.id)

    async def on_signal(self, session: CallSession, frame: CallSignal) -> None:
        me = participant_of(session.principal)
        try:
            call = self.registry.get(frame.call_id)
            relayed = self.relay.relay(call, me, session.id, frame, now())
        except SignalingError:
            # Outside the connection's rate only while it is relayed (gateway.UNMETERED_FRAMES).
            if not session.rate.take():
                raise ProtocolError(
                    "rate_limited", "too many frames; slow down and retry", frame.id
                ) from None
            raise
        info = self._info.get(call.id)
        if info is not None:
            await self._to_session(info, relayed.to, relayed.session_id, call, relayed.frame)

    async def _names(self, db: AsyncSession, conversation: Conversation) -> dict[Participant, str]:
        visitor = await db.get(Visitor, conversation.visitor_id)
        visitor_name = (visitor.name if visitor else None) or "Visitor"
        names = {Participant.visitor(conversation.visitor_id): visitor_name}
        if conversation.assignee_id:
            agent = await db.get(Agent, conversation.assignee_id)
            if agent is not None:
                names[Participant.agent(agent.id)] = agent.name
        return names

    # --- connections -------------------------------------------------------------------

    async def welcome_extras(self, session: CallSession) -> dict[str, Any]:
        return {
            "ice_servers": self.ice_servers(participant_of(session.principal)),
            "calls": self.limits(),
        }

    async def on_session_open(self, session: CallSession) -> None:
        """After `welcome` and its replay: the live call this person is in, if any."""
        me = participant_of(session.principal)
        call = self.registry.call_of(me)
        if call is None:
            return
        info = self._info.get(call.id)
        names = info.names if info else None
        session.outbox.send(state_frame(call, me, ice_servers=self.ice_servers(me), names=names))

    async def on_session_close(self, session: CallSession) -> None:
        try:
            call = self.registry.connection_closed(session.id, now())
            if call is None:
                return
            self._wake.set()
            if not call.is_live:
                await self._finish(call, actor=call.ended_by)
                return
            info = self._info.get(call.id)
            if info is not None:
                await self._announce_state(call, info)
        except Exception:
            log.exception("calls: closing connection %s failed", session.id)

    def tenants_in_calls(self) -> set[str]:
        """The tenants with a live call on this node."""
        return {
            info.tenant_id
            for call in self.registry.live_calls()
            if (info := self._info.get(call.id)) is not None
        }

    async def abort_tenant(self, tenant_id: str) -> None:
        """End this node's live calls of a tenant `failed` (its call home moved away)."""
        for call in self.registry.live_calls():
            info = self._info.get(call.id)
            if info is None or info.tenant_id != tenant_id:
                continue
            try:
                self.registry.abort(call.id, now())
                await self._finish(call)
            except Exception:
                log.exception("calls: ending %s failed", call.id)

    # --- timers ------------------------------------------------------------------------

    async def run_timers(self) -> None:
        """Ring timeouts and grace periods; at shutdown, end the live calls `failed`."""
        try:
            while True:
                self._wake.clear()
                deadline = self.registry.next_deadline()
                timeout = None
                if deadline is not None:
                    timeout = max((deadline - now()).total_seconds(), 0.0) + _TIMER_SLACK
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                for call in self.registry.check_timeouts(now()):
                    try:
                        await self._finish(call)
                    except Exception:
                        log.exception("calls: announcing the end of %s failed", call.id)
        except asyncio.CancelledError:
            await self._abort_all()
            raise

    async def _abort_all(self) -> None:
        for call in self.registry.live_calls():
            try:
                self.registry.abort(call.id, now())
                await self._finish(call, wait=True)
            except Exception:
                log.exception("calls: ending %s at shutdown failed", call.id)


Handler = Callable[["Session", Any], Awaitable[None]]


def _answering_errors(handler: Callable[[Session, Any], Awaitable[None]]) -> Handler:
    """Turn a signaling refusal into its `error` frame on the sender's connection."""

    async def handle(session: Session, frame: Any) -> None:
        try:
            await handler(session, frame)
        except SignalingError as exc:
            session.outbox.send(error_frame(exc, getattr(frame, "id", None)))

    return handle


def install(runtime: Runtime) -> CallService:
    service = CallService(runtime)
    settings = runtime.settings
    # An idle home lingers as long as ended calls stay readable (late frames: `call_ended`).
    linger = service.registry.keep_ended.total_seconds()
    service.home = home = CallHome(runtime, service, settings.call_home_ttl_seconds, linger)
    hooks = runtime.hooks
    for name, model in CALL_FRAMES.items():
        hooks.add_frame(name, model, _answering_errors(home.frame_handler(service.handlers[name])))
    hooks.welcome_extras.append(service.welcome_extras)
    hooks.on_session_open.append(home.session_opened)
    hooks.on_session_close.append(home.session_closed)
    hooks.background.append(service.run_timers)
    hooks.background.append(home.run)
    return service
