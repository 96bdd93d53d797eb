"""Redis bus and presence: the same contracts as `memory`, shared by every node.

Bus: Redis pub/sub, one subscriber connection per node. A single reader task owns that
connection: it reads messages and also carries out (un)subscribe requests between
reads, so the connection is never used by two tasks at once. When Redis goes away the
reader reconnects with backoff, subscribes again to every channel that has handlers,
and then calls `on_reconnect` so the node can catch its clients up from the store
(whatever was published meanwhile is lost: the bus is only a doorbell). A publish is
retried a few times on a fresh connection (pooled connections go stale when Redis
restarts); one that still fails is logged and dropped for the same reason, and never
fails a send that committed.

Leases: one string key per lease, its value the holder, with a `PX` expiry; taking,
renewing and releasing are Lua scripts, so each is one atomic step in Redis. Errors are
raised (the caller decides what an unreachable Redis means for what it coordinates).

Presence: one sorted set per tenant, members `<agent id>|<node id>` scored by expiry
time. Each node refreshes its members every `heartbeat` seconds, so the agents of a node
that dies drop out on their own after `ttl` seconds. While Redis is unreachable presence
degrades instead of failing: a node counts its own connections, answers with the agents
it holds itself, and re-announces them all on the first heartbeat after Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bus import Handler, Message

log = logging.getLogger(__name__)
_LOST = (RedisConnectionError, RedisTimeoutError, OSError)


def _client(url: str) -> Redis:
    """A pooled client whose commands survive a stale connection: up to 3 retries on a new
    one, 20 ms to 200 ms apart, so a command right after a Redis restart goes through."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=5,
        socket_connect_timeout=2,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ConnectionResetError],
    )


class _RedisSubscription:
    def __init__(self, bus: RedisBus, channel: str, handler: Handler) -> None:
        self._bus = bus
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        await self._bus._remove(self._channel, self._handler)


class RedisBus:
    def __init__(
        self,
        url: str,
        on_reconnect: Callable[[], Coroutine[Any, Any, None]] | None = None,
        poll_seconds: float = 0.05,
        max_backoff_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.on_reconnect = on_reconnect
        self._poll = poll_seconds
        self._max_backoff = max_backoff_seconds
        self._redis: Redis | None = None
        self._subscriber: Redis | None = None
        self._handlers: dict[str, set[Handler]] = {}
        self._requests: asyncio.Queue[tuple[str, str, asyncio.Future[None]]] = asyncio.Queue()
        self._reader: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._background: set[asyncio.Task[None]] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}

    async def start(self) -> None:
        self._redis = _client(self.url)
        # The subscriber must NOT retry by itself: redis-py would reconnect and resubscribe
        # silently, and the node would never resync what was published during the outage.
        self._subscriber = Redis.from_url(
            self.url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=2,
            retry=Retry(NoBackoff(), 0),
        )
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")
        await asyncio.wait_for(self.connected.wait(), 10)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._redis is not None:
            await self._redis.aclose()
        if self._subscriber is not None:
            await self._subscriber.aclose()

    async def ping(self) -> None:
        assert self._redis is not None
        await self._redis.ping()

    async def publish(self, channel: str, message: Message) -> None:
        assert self._redis is not None
        try:
            await self._redis.publish(channel, json.dumps(message, separators=(",", ":")))
        except (RedisError, OSError) as exc:
            log.warning("bus publish on %s lost: %r", channel, exc)

    async def subscribe(self, channel: str, handler: Handler) -> _RedisSubscription:
        handlers = self._handlers.setdefault(channel, set())
        first = not handlers
        handlers.add(handler)
        if first:
            await self._request("subscribe", channel)
        return _RedisSubscription(self, channel, handler)

    async def _remove(self, channel: str, handler: Handler) -> None:
        handlers = self._handlers.get(channel)
        if handlers is None:
            return
        handlers.discard(handler)
        if not handlers:
            del self._handlers[channel]
            await self._request("unsubscribe", channel)

    async def _request(self, action: str, channel: str) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._requests.put((action, channel, done))
        # While Redis is down the request waits; the reader applies the full channel set
        # on reconnect anyway, so the caller need not wait for the outage to end.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(done), 5)

    def _dispatch(self, channel: str, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            log.warning("bus: ignoring a non-JSON message on %s", channel)
            return
        for handler in list(self._handlers.get(channel, ())):
            try:
                handler(message)
            except Exception:
                log.exception("bus handler failed on %s", channel)

    async def _read_forever(self) -> None:
        assert self._subscriber is not None
        backoff = 0.05
        first = True
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.ping()  # forces the connection, so failures surface here
                if self._handlers:
                    await pubsub.subscribe(*self._handlers)
                self.connected.set()
                backoff = 0.05
                if not first:
                    self.reconnects += 1
                    log.info("bus reconnected to Redis (%d)", self.reconnects)
                    if self.on_reconnect is not None:
                        task = asyncio.create_task(self.on_reconnect())
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                first = False
                await self._pump(pubsub)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except _LOST as exc:
                self.connected.clear()
                log.warning("bus lost Redis (%r); reconnecting in %.2fs", exc, backoff)
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _pump(self, pubsub: Any) -> None:
        while True:
            while not self._requests.empty():
                action, channel, done = self._requests.get_nowait()
                if action == "subscribe" and channel in self._handlers:
                    # Done when Redis confirms: only then are publishes to it received.
                    self._confirmations.setdefault(channel, []).append(done)
                    await pubsub.subscribe(channel)
                    continue
                if action == "unsubscribe" and channel not in self._handlers:
                    await pubsub.unsubscribe(channel)
                if not done.done():
                    done.set_result(None)
            if not pubsub.subscribed:
                await asyncio.sleep(self._poll)
                continue
            message = await pubsub.get_message(timeout=self._poll)
            if message is None:
                continue
            if message.get("type") == "message":
                self._dispatch(message["channel"], message["data"])
            elif message.get("type") == "subscribe":
                for waiter in self._confirmations.pop(message["channel"], []):
                    if not waiter.done():
                        waiter.set_result(None)


class RedisPresence:
    """Agent connections across nodes, with expiry for nodes that die."""

    def __init__(
        self, url: str, node_id: str | None = None, ttl: float = 30.0, heartbeat: float = 10.0
    ) -> None:
        self.url = url
        self.node_id = node_id or uuid.uuid4().hex[:12]
        self.ttl = ttl
        self.heartbeat = heartbeat
        self._redis: Redis | None = None
        self._local: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._redis = _client(self.url)
        self._task = asyncio.create_task(self._refresh_forever(), name="redis-presence")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                for tenant_id, agent_id in list(self._local):
                    await self._redis.zrem(_key(tenant_id), self._member(agent_id))
            await self._redis.aclose()

    def _member(self, agent_id: str) -> str:
        return f"{agent_id}|{self.node_id}"

    async def _live_members(self, tenant_id: str) -> list[str]:
        assert self._redis is not None
        now = time.time()
        key = _key(tenant_id)
        await self._redis.zremrangebyscore(key, "-inf", now)
        return cast(list[str], await self._redis.zrangebyscore(key, now, "+inf"))

    def _held_here(self, tenant_id: str) -> set[str]:
        return {agent for (tenant, agent) in self._local if tenant == tenant_id}

    async def connected(self, tenant_id: str, agent_id: str) -> bool:
        assert self._redis is not None
        count = self._local.get((tenant_id, agent_id), 0)
        self._local[(tenant_id, agent_id)] = count + 1
        try:
            members = await self._live_members(tenant_id)
            was_anywhere = any(m.split("|")[0] == agent_id for m in members)
            expiry = time.time() + self.ttl
            await self._redis.zadd(_key(tenant_id), {self._member(agent_id): expiry})
        except (RedisError, OSError) as exc:
            log.warning("presence: Redis unreachable on connect (%r); counted locally", exc)
            return count == 0  # the heartbeat announces it once Redis is back
        return not was_anywhere

    async def disconnected(self, tenant_id: str, agent_id: str) -> bool:
        assert self._redis is not None
        left = self._local.get((tenant_id, agent_id), 0) - 1
        if left > 0:
            self._local[(tenant_id, agent_id)] = left
            return False
        self._local.pop((tenant_id, agent_id), None)
        try:
            await self._redis.zrem(_key(tenant_id), self._member(agent_id))
            members = await self._live_members(tenant_id)
        except (RedisError, OSError) as exc:
            # The member then expires by itself within `ttl`.
            log.warning("presence: Redis unreachable on disconnect (%r)", exc)
            return True
        return not any(m.split("|")[0] == agent_id for m in members)

    async def connected_agents(self, tenant_id: str) -> set[str]:
        try:
            return {m.split("|")[0] for m in await self._live_members(tenant_id)}
        except (RedisError, OSError) as exc:
            log.warning("presence: Redis unreachable (%r); answering with this node's", exc)
            return self._held_here(tenant_id)

    async def _refresh_forever(self) -> None:
        assert self._redis is not None
        while True:
            await asyncio.sleep(self.heartbeat)
            expiry = time.time() + self.ttl
            try:
                for tenant_id, agent_id in list(self._local):
                    await self._redis.zadd(_key(tenant_id), {self._member(agent_id): expiry})
            except (RedisError, OSError) as exc:
                log.warning("presence heartbeat failed: %r", exc)


def _key(tenant_id: str) -> str:
    return f"kefu:presence:{tenant_id}"


# Take the key if free or ours (then also renew it); answer the holder afterwards.
_ACQUIRE = """
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLeases:
    """Leases shared by every node on one Redis; a holder that stops renewing loses them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._redis: Redis | None = None

    async def start(self) -> None:
        self._redis = _client(self.url)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def acquire(self, key: str, holder: str, ttl: float) -> str:
        assert self._redis is not None
        millis = max(1, int(ttl * 1000))
        result = await self._redis.eval(_ACQUIRE, 1, key, holder, str(millis))
        return str(result)

    async def holder(self, key: str) -> str | None:
        assert self._redis is not None
        value = await self._redis.get(key)
        return None if value is None else str(value)

    async def release(self, key: str, holder: str) -> None:
        assert self._redis is not None
        await self._redis.eval(_RELEASE, 1, key, holder)
