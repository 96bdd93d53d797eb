"""Calls across nodes: each tenant's calls live on ONE node, its call home; others forward.

`signaling.registry.CallRegistry` is an in-memory, atomic, per-node object: the busy
rule, "one live call per participant" and the state machine all need every operation on
a tenant's calls to see the same registry. Rather than rebuild it on Redis (every
transition a script, every timer a distributed one), a tenant's calls are owned by one
node at a time and the other nodes hand it their clients' call frames:

- The home is a lease (`server.bus.Leases`) `kefu:calls:home:<tenant id>` holding the
  node id, taken with the first call frame of the tenant that reaches a node while
  nobody holds it, renewed every ttl/3 (`call_home_ttl_seconds`) by its holder, and
  released after `linger` seconds without a live call or a frame (so a late frame still
  gets `call_ended`, and an idle tenant costs no renewals). With the in-process bus (one
  node) the lease is in memory and this node is always the home: nothing is forwarded,
  behaviour is the single-node one.
- A node that receives a `call.*` frame for a tenant whose home is another node forwards
  it on the home's channel `calls-node:<node id>` with the session id and the principal
  (kind, id, tenant, role, name). The home runs the very same handler on a
  `RemoteSession` (id, principal, no rate, an outbox that collects). Everything the
  handlers send to people already goes through the bus, addressed (`server.connection`),
  so it reaches the right connection wherever it is. What a handler answers the session
  itself (an `error`, the `call.state` after `welcome`) goes back to the receiving node
  as a `reply`, which puts it into the connection's outbox there; the receiving node
  also charges a refused `call.signal` to the connection's rate (it owns the rate).
  Conversation checks (`conversation_for`) read the shared store, so they hold anywhere.
- Forwarded operations of one session run at the home one at a time, in order (an offer
  before its candidates), like the frames of a local connection.
- Session open: on a node that is not the home, a new connection of a tenant with a home
  asks it (`open`) and the home replies `call.state` if that person is in a live call.
  Session close: a connection that ever forwarded a call frame tells the home (`close`),
  so a ringing caller that vanishes ends `dropped` and an active call starts its grace.
- A forwarded operation that reaches a node no longer holding the home is forwarded on
  to the current holder (at most `MAX_HOPS` times), or taken over if the lease is free.

Why a home per tenant rather than per call: the busy rule and "one call per
conversation" span every call of a tenant (an agent may be called from any of its
conversations), so that is the smallest unit whose calls must share one registry.

Failure: if the home dies, its tenants' live calls are lost with it (nobody announces
their end, no `call.ended` is stored; the peers' media may go on peer to peer until they
hang up, which then answers `call_not_found`). Frames forwarded to it meanwhile are lost;
once its lease expires (at most `call_home_ttl_seconds`) the next call frame makes a
live node the home and new calls work. A home that finds its lease taken by another
node (it could not renew in time) ends its live calls of that tenant `failed`, so a
tenant never has calls on two nodes for longer than that. If the leases cannot be
reached (Redis down) a call frame is refused `calls_unavailable` (retryable): the bus is
down too, so no call frame could reach anybody anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.auth import Principal
from server.bus import Message, Subscription
from server.errors import KefuError, Unavailable
from server.protocol import ProtocolError
from server.protocol import error_frame as protocol_error
from signaling.errors import SignalingError
from signaling.frames import CALL_FRAMES, error_frame

if TYPE_CHECKING:
    from server.calls import CallService, CallSession
    from server.gateway import Session
    from server.runtime import Runtime

log = logging.getLogger(__name__)

MAX_HOPS = 3
_READY_SECONDS = 5.0
_RELEASE_SECONDS = 2.0


def node_channel(node_id: str) -> str:
    """The bus channel on which a node receives the call operations of its tenants."""
    return f"calls-node:{node_id}"


def home_key(tenant_id: str) -> str:
    return f"kefu:calls:home:{tenant_id}"


class _Unmetered:
    """The rate of a remote session: the receiving node charges the real one."""

    def take(self) -> bool:
        return True


class _Collected:
    """The outbox of a remote session: frames for the connection, sent back as a reply."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)


@dataclass
class RemoteSession:
    """A connection of another node, as the call handlers of the home see it."""

    id: str
    principal: Principal
    origin: str
    rate: _Unmetered = field(default_factory=_Unmetered)
    outbox: _Collected = field(default_factory=_Collected)


def error_for(exc: BaseException, frame_id: str | None) -> dict[str, Any]:
    """The `error` frame a local connection would have got for `exc` (the gateway's rules)."""
    if isinstance(exc, SignalingError):
        return error_frame(exc, frame_id)
    if isinstance(exc, ProtocolError):
        retryable = exc.code == "rate_limited"
        return protocol_error(exc.code, exc.message, exc.frame_id or frame_id, retryable)
    if isinstance(exc, KefuError):
        return protocol_error(exc.code, exc.message, frame_id, exc.retryable)
    return protocol_error("internal_error", "the server failed on this frame", frame_id)


def _rate_limited(frame_id: str | None) -> dict[str, Any]:
    return protocol_error(
        "rate_limited", "too many frames; slow down and retry", frame_id, retryable=True
    )


def _unavailable() -> Unavailable:
    return Unavailable("calls are unavailable for a moment; retry", "calls_unavailable")


Handler = Callable[["Session", Any], Awaitable[None]]


class CallHome:
    """Where each tenant's calls live, and the forwarding to and from that node."""

    def __init__(self, runtime: Runtime, service: CallService, ttl: float, linger: float) -> None:
        self.runtime = runtime
        self.service = service
        self.node_id = runtime.node_id
        self.ttl = ttl
        self.linger = linger
        self._held: dict[str, float] = {}  # tenant -> when the lease was last confirmed ours
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._last_used: dict[str, float] = {}
        self._sessions: dict[str, Session] = {}  # local connections a home may reply to
        self._forwarded: set[str] = set()  # local connections that forwarded a call frame
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._ready = asyncio.Event()

    # --- the lease ---------------------------------------------------------------------

    def holds(self, tenant_id: str) -> bool:
        """This node is the tenant's home (its lease confirmed within the last ttl/2)."""
        confirmed = self._held.get(tenant_id)
        return confirmed is not None and time.monotonic() - confirmed < self.ttl / 2

    async def home_of(self, tenant_id: str, take: bool) -> str | None:
        """The node id of the tenant's call home; with `take`, this node when it is free.
        Raises `calls_unavailable` when the leases cannot be reached."""
        if self.holds(tenant_id):
            return self.node_id
        try:
            await asyncio.wait_for(self._ready.wait(), _READY_SECONDS)
            async with self._locks[tenant_id]:
                if self.holds(tenant_id):
                    return self.node_id
                leases, key = self.runtime.leases, home_key(tenant_id)
                holder = await leases.holder(key)
                if take or holder == self.node_id:
                    holder = await leases.acquire(key, self.node_id, self.ttl)
                self._note(tenant_id, holder)
                return holder
        except Exception as exc:
            log.warning("calls: the home of tenant %s is unknown: %r", tenant_id, exc)
            raise _unavailable() from exc

    def _note(self, tenant_id: str, holder: str | None) -> None:
        if holder == self.node_id:
            self._held[tenant_id] = time.monotonic()
        elif self._held.pop(tenant_id, None) is not None:
            log.warning("calls: lost the home of tenant %s to %s", tenant_id, holder)
            self.runtime.hooks.spawn(self.service.abort_tenant(tenant_id), "calls home lost")

    @contextlib.contextmanager
    def _using(self, tenant_id: str) -> Iterator[None]:
        """While a frame of the tenant is handled here its home is not released."""
        self._in_flight[tenant_id] += 1
        try:
            yield
        finally:
            self._in_flight[tenant_id] -= 1
            if not self._in_flight[tenant_id]:
                del self._in_flight[tenant_id]
            self._last_used[tenant_id] = time.monotonic()

    async def run(self) -> None:
        """Listen on this node's channel; renew the homes held, release the idle ones."""
        subscription: Subscription = await self.runtime.bus.subscribe(
            node_channel(self.node_id), self._received
        )
        self._ready.set()
        try:
            while True:
                await asyncio.sleep(self.ttl / 3)
                await self._renew()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._release_all(), _RELEASE_SECONDS)
            with contextlib.suppress(Exception):
                await subscription.close()

    async def _renew(self) -> None:
        busy = self.service.tenants_in_calls()
        leases = self.runtime.leases
        for tenant_id in list(self._held):
            key = home_key(tenant_id)
            try:
                async with self._locks[tenant_id]:
                    idle_since = self._last_used.get(tenant_id, 0.0)
                    if (
                        tenant_id not in busy
                        and tenant_id not in self._in_flight
                        and time.monotonic() - idle_since > self.linger
                    ):
                        self._held.pop(tenant_id, None)
                        self._last_used.pop(tenant_id, None)
                        await leases.release(key, self.node_id)
                        continue
                    self._note(tenant_id, await leases.acquire(key, self.node_id, self.ttl))
            except Exception as exc:  # Redis away: try again next round
                log.warning("calls: renewing the home of tenant %s failed: %r", tenant_id, exc)

    async def _release_all(self) -> None:
        held, self._held = list(self._held), {}
        for tenant_id in held:
            await self.runtime.leases.release(home_key(tenant_id), self.node_id)

    # --- the receiving node ------------------------------------------------------------

    def frame_handler(self, local: Handler) -> Handler:
        """A `call.*` frame of a local connection: handled here at home, else forwarded."""

        async def handle(session: Session, frame: Any) -> None:
            tenant_id = session.principal.tenant_id
            with self._using(tenant_id):
                home = await self.home_of(tenant_id, take=True)
                if home == self.node_id or home is None:
                    await local(session, frame)
                    return
            self._sessions[session.id] = session
            self._forwarded.add(session.id)
            data = frame.model_dump(mode="json", exclude_none=True)
            await self._forward(home, "frame", session, frame=data)

        return handle

    async def session_opened(self, session: Session) -> None:
        """After `welcome`: the live call of this person, from wherever its home is."""
        tenant_id = session.principal.tenant_id
        try:
            home = await self.home_of(tenant_id, take=False)
        except KefuError:
            return
        if home is None or home == self.node_id:
            await self.service.on_session_open(session)
            return
        self._sessions[session.id] = session
        await self._forward(home, "open", session)

    async def session_closed(self, session: Session) -> None:
        await self.service.on_session_close(session)
        self._sessions.pop(session.id, None)
        if session.id not in self._forwarded:
            return
        self._forwarded.discard(session.id)
        try:
            home = await self.home_of(session.principal.tenant_id, take=False)
        except KefuError:
            return
        if home is not None and home != self.node_id:
            await self._forward(home, "close", session)

    async def _forward(self, home: str, op: str, session: Session, **data: Any) -> None:
        message: Message = {
            "op": op,
            "origin": self.node_id,
            "session_id": session.id,
            "principal": dataclasses.asdict(session.principal),
            "hops": 1,
            "ts": time.time(),
            **data,
        }
        await self.runtime.bus.publish(node_channel(home), message)

    def _replied(self, message: Message) -> None:
        session = self._sessions.get(message["session_id"])
        if session is None:
            return  # the connection closed meanwhile
        for frame in message["frames"]:
            if message.get("charge") and frame.get("type") == "error" and not session.rate.take():
                frame = _rate_limited(frame.get("id"))
            session.outbox.send(frame)

    # --- the home ----------------------------------------------------------------------

    def _received(self, message: Message) -> None:
        """A bus message on this node's channel (a plain callable: it must not block)."""
        if message.get("op") == "reply":
            self._replied(message)
            return
        key = str(message.get("session_id"))
        previous = self._chains.get(key)
        task = self.runtime.hooks.spawn(self._serve(message, previous), "calls home")
        self._chains[key] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._chains.get(key) is done:
                del self._chains[key]

        task.add_done_callback(forget)

    async def _serve(self, message: Message, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        op = message["op"]
        principal = Principal(**message["principal"])
        remote = RemoteSession(message["session_id"], principal, message["origin"])
        frame_data: dict[str, Any] = message.get("frame") or {}
        frame_id = frame_data.get("id")
        charge = False
        with self._using(principal.tenant_id):
            try:
                home = await self.home_of(principal.tenant_id, take=op == "frame")
                if home is None:
                    return  # `open` or `close` while nobody holds calls: nothing to do
                if home != self.node_id:
                    if message["hops"] < MAX_HOPS:
                        onward = {**message, "hops": message["hops"] + 1}
                        await self.runtime.bus.publish(node_channel(home), onward)
                        return
                    raise _unavailable()
                if op == "frame":
                    model = CALL_FRAMES[frame_data["type"]]
                    frame = model.model_validate(frame_data)
                    handler: Callable[[CallSession, Any], Awaitable[None]]
                    handler = self.service.handlers[frame_data["type"]]
                    await handler(remote, frame)
                elif op == "open":
                    await self.service.on_session_open(remote)
                elif op == "close":
                    await self.service.on_session_close(remote)
            except Exception as exc:
                if op != "frame":
                    log.exception("calls: %s of %s failed", op, remote.id)
                    return
                if not isinstance(exc, KefuError | SignalingError):
                    log.exception("calls: forwarded frame of %s failed", remote.id)
                remote.outbox.send(error_for(exc, frame_id))
                charge = isinstance(exc, SignalingError) and frame_data["type"] == "call.signal"
        if remote.outbox.frames:
            reply: Message = {
                "op": "reply",
                "session_id": remote.id,
                "frames": remote.outbox.frames,
                "charge": charge,
            }
            await self.runtime.bus.publish(node_channel(remote.origin), reply)
