"""The bus, presence and leases contracts, run against every implementation (memory, Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.bus.memory import MemoryBus, MemoryLeases, MemoryPresence
from server.bus.redis import RedisBus, RedisLeases, RedisPresence
from tests.services import REDIS_URL, OwnRedis, require_redis


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "redis":
        await require_redis()
        instance: Any = RedisBus(REDIS_URL)
    else:
        instance = MemoryBus()
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture(params=["memory", "redis"])
async def presence(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "redis":
        await require_redis()
        instance: Any = RedisPresence(REDIS_URL)
        await instance.start()
    else:
        instance = MemoryPresence()
    yield instance
    if request.param == "redis":
        await instance.close()


@pytest.fixture(params=["memory", "redis"])
async def leases(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "redis":
        await require_redis()
        instance: Any = RedisLeases(REDIS_URL)
    else:
        instance = MemoryLeases()
    await instance.start()
    yield instance
    await instance.close()


def channel() -> str:
    return f"test:{uuid.uuid4().hex}"


async def eventually(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_publish_reaches_handlers_of_that_channel_in_order(bus: Any) -> None:
    here, elsewhere = channel(), channel()
    got_a: list[dict] = []
    got_b: list[dict] = []
    other: list[dict] = []
    await bus.subscribe(here, got_a.append)
    await bus.subscribe(here, got_b.append)
    await bus.subscribe(elsewhere, other.append)
    for n in range(100):
        await bus.publish(here, {"n": n, "text": "你好 ✓"})
    await eventually(lambda: len(got_a) == 100 and len(got_b) == 100)
    assert [m["n"] for m in got_a] == list(range(100)) == [m["n"] for m in got_b]
    assert got_a[0]["text"] == "你好 ✓"
    await asyncio.sleep(0.1)
    assert other == []


async def test_closed_subscription_stops_only_its_handler(bus: Any) -> None:
    name = channel()
    kept: list[dict] = []
    dropped: list[dict] = []
    await bus.subscribe(name, kept.append)
    subscription = await bus.subscribe(name, dropped.append)
    await subscription.close()
    await bus.publish(name, {"n": 1})
    await eventually(lambda: len(kept) == 1)
    await asyncio.sleep(0.1)
    assert dropped == []


async def test_a_failing_handler_does_not_starve_the_others(bus: Any) -> None:
    name = channel()
    got: list[dict] = []

    def broken(_message: dict) -> None:
        raise RuntimeError("boom")

    await bus.subscribe(name, broken)
    await bus.subscribe(name, got.append)
    await bus.publish(name, {"n": 1})
    await bus.publish(name, {"n": 2})
    await eventually(lambda: len(got) == 2)


async def test_presence_counts_connections(presence: Any) -> None:
    tenant, agent = uuid.uuid4().hex, uuid.uuid4().hex
    assert await presence.connected(tenant, agent) is True
    assert await presence.connected(tenant, agent) is False
    assert await presence.connected_agents(tenant) == {agent}
    assert await presence.disconnected(tenant, agent) is False
    assert await presence.connected_agents(tenant) == {agent}
    assert await presence.disconnected(tenant, agent) is True
    assert await presence.connected_agents(tenant) == set()
    assert await presence.connected_agents(uuid.uuid4().hex) == set()


async def test_a_lease_has_one_holder_until_released(leases: Any) -> None:
    key = f"test:lease:{uuid.uuid4().hex}"
    assert await leases.holder(key) is None
    assert await leases.acquire(key, "node-a", 30) == "node-a"
    assert await leases.acquire(key, "node-b", 30) == "node-a"  # taken: answers the holder
    assert await leases.acquire(key, "node-a", 30) == "node-a"  # a renewal
    assert await leases.holder(key) == "node-a"
    await leases.release(key, "node-b")  # not b's to free
    assert await leases.holder(key) == "node-a"
    await leases.release(key, "node-a")
    assert await leases.holder(key) is None
    assert await leases.acquire(key, "node-b", 30) == "node-b"
    await leases.release(key, "node-b")


async def test_an_unrenewed_lease_expires_and_a_renewed_one_does_not(leases: Any) -> None:
    lapsing, renewed = (f"test:lease:{uuid.uuid4().hex}" for _ in range(2))
    assert await leases.acquire(lapsing, "node-a", 0.3) == "node-a"
    assert await leases.acquire(renewed, "node-a", 0.3) == "node-a"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await leases.holder(lapsing) is not None:
        assert loop.time() < deadline, "the lease never expired"
        assert await leases.acquire(renewed, "node-a", 0.3) == "node-a"
        await asyncio.sleep(0.05)
    assert await leases.holder(renewed) == "node-a"
    assert await leases.acquire(lapsing, "node-b", 30) == "node-b"  # free again: taken over
    await leases.release(lapsing, "node-b")
    await leases.release(renewed, "node-a")


async def test_redis_leases_are_shared_by_nodes() -> None:
    await require_redis()
    node_a, node_b = RedisLeases(REDIS_URL), RedisLeases(REDIS_URL)
    await node_a.start()
    await node_b.start()
    key = f"test:lease:{uuid.uuid4().hex}"
    results = ["", ""]
    try:
        results = await asyncio.gather(
            *(lease.acquire(key, name, 30) for lease, name in ((node_a, "a"), (node_b, "b")))
        )
        assert results[0] == results[1] in ("a", "b")  # one winner, seen by both
        assert await node_b.holder(key) == results[0]
    finally:
        await node_a.release(key, results[0])
        await node_a.close()
        await node_b.close()


async def test_redis_bus_reaches_other_nodes() -> None:
    await require_redis()
    node_a, node_b = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    await node_a.start()
    await node_b.start()
    try:
        name = channel()
        got: list[dict] = []
        await node_b.subscribe(name, got.append)
        await node_a.publish(name, {"from": "a"})
        await eventually(lambda: got == [{"from": "a"}])
    finally:
        await node_a.close()
        await node_b.close()


async def test_redis_presence_spans_nodes_and_expires_with_a_dead_node() -> None:
    await require_redis()
    tenant, agent = uuid.uuid4().hex, uuid.uuid4().hex
    node_a = RedisPresence(REDIS_URL, ttl=0.5, heartbeat=0.1)
    node_b = RedisPresence(REDIS_URL, ttl=0.5, heartbeat=0.1)
    await node_a.start()
    await node_b.start()
    try:
        assert await node_a.connected(tenant, agent) is True
        assert await node_b.connected(tenant, agent) is False  # already online via node a
        assert await node_a.disconnected(tenant, agent) is False  # still on node b
        assert await node_a.connected_agents(tenant) == {agent}
        # Node b dies without a word: its heartbeat stops and the entry expires.
        assert node_b._task is not None
        node_b._task.cancel()
        await asyncio.sleep(1.0)
        assert await node_a.connected_agents(tenant) == set()
    finally:
        await node_a.close()
        node_b._local.clear()
        await node_b.close()


async def test_redis_bus_survives_a_redis_restart() -> None:
    own = OwnRedis()
    own.start()
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    node_a = RedisBus(own.url, on_reconnect=on_reconnect, max_backoff_seconds=0.2)
    node_b = RedisBus(own.url, max_backoff_seconds=0.2)
    try:
        await node_a.start()
        await node_b.start()
        name = channel()
        got: list[dict] = []
        await node_a.subscribe(name, got.append)
        await node_b.publish(name, {"n": 1})
        await eventually(lambda: len(got) == 1)

        own.stop()
        await node_b.publish(name, {"n": "lost"})  # dropped, never raised
        own.start()
        await asyncio.wait_for(reconnected.wait(), 15)
        assert node_a.reconnects >= 1
        # Publish until it lands: node b's own connection comes back on first use.
        for n in range(2, 200):
            await node_b.publish(name, {"n": n})
            if len(got) > 1:
                break
            await asyncio.sleep(0.05)
        await eventually(lambda: len(got) > 1)
        assert got[0] == {"n": 1} and {"n": "lost"} not in got
    finally:
        await node_a.close()
        await node_b.close()
        own.stop()
