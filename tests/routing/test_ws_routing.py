"""Routing over real WebSockets: capacity, stickiness, fallback, the queue and its order,
and assignment when an agent comes online or frees capacity.

Agents here have no schedule (on shift whenever online) unless a test gives one; the
clock is the real one. Every test has its own tenant with routing on.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.harness import RunningServer, WsClient
from tests.routing.support import (
    assignment,
    close_all,
    events,
    online,
    profile,
    queue,
    queue_status,
    routed_tenant,
    shopper_writes,
    summary,
    system_messages,
)


async def test_capacity_sends_the_next_to_another_agent_then_to_the_queue(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    first, second = tenant.agent, await tenant.add_agent("Chen Jing")
    for agent in (first, second):
        await profile(tenant, agent, max_chats=1)
    consoles = [await online(rserver, first), await online(rserver, second)]

    s1, ws1 = await shopper_writes(rserver, tenant, "Where is my parcel?")
    a1 = await assignment(ws1, s1.conversation_id)
    assert a1["by"]["type"] == "system"
    assert a1["reason"] == "least_loaded"
    assert a1["assignee_name"] in ("Li Wei", "Chen Jing")

    s2, ws2 = await shopper_writes(rserver, tenant, "Can I change my address?")
    a2 = await assignment(ws2, s2.conversation_id)
    assert {a1["assignee_id"], a2["assignee_id"]} == {first.id, second.id}

    # Both at max_chats 1: the third waits, first in line, and nobody is assigned.
    s3, ws3 = await shopper_writes(rserver, tenant, "Hello, anyone?")
    status = await queue_status(ws3, s3.conversation_id)
    assert status["position"] == 1
    assert status["available_now"] is True and status["eta"] is None
    await asyncio.sleep(0.6)  # three sweeps
    assert (await summary(tenant, s3.conversation_id))["assignee"] is None
    # Someone is on shift, only busy: no offline auto-reply.
    assert system_messages(await events(tenant, s3.conversation_id)) == []
    listed = await queue(tenant)
    assert [q["conversation_id"] for q in listed["queue"]] == [s3.conversation_id]
    loads = {a["id"]: (a["load"], a["available"]) for a in listed["agents"]}
    assert loads[first.id] == loads[second.id] == (1, False)

    # Closing one conversation frees its agent, who gets the waiting one.
    closed = await rhttp.post(
        f"/api/v1/conversations/{s1.conversation_id}/close", headers=tenant.admin.headers
    )
    assert closed.status_code == 200
    a3 = await assignment(ws3, s3.conversation_id)
    assert a3["assignee_id"] == a1["assignee_id"]
    assert (await queue(tenant))["queue"] == []
    await close_all(*consoles, ws1, ws2, ws3)


async def test_a_returning_shopper_goes_back_to_their_agent(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    agents = {tenant.agent.id: tenant.agent}
    other = await tenant.add_agent("Chen Jing")
    agents[other.id] = other
    consoles = [await online(rserver, agent) for agent in agents.values()]

    shopper, ws = await shopper_writes(rserver, tenant, "My teapot arrived cracked")
    first = await assignment(ws, shopper.conversation_id)
    mine = agents[first["assignee_id"]]
    theirs = next(a for a in agents.values() if a.id != mine.id)
    reply = await consoles[0].send_message(shopper.conversation_id, "Sorry! Photo?", "r1")
    assert reply["type"] == "message.ack"
    closed = await rhttp.post(
        f"/api/v1/conversations/{shopper.conversation_id}/close", headers=tenant.admin.headers
    )
    assert closed.status_code == 200

    # Give `mine` more work than `theirs`, so least-loaded alone would pick `theirs`.
    busy = await tenant.shopper()
    assigned = await rhttp.post(
        f"/api/v1/conversations/{busy.conversation_id}/assign",
        json={"agent_id": mine.id},
        headers=tenant.admin.headers,
    )
    assert assigned.status_code == 200
    loads = {a["id"]: a["load"] for a in (await queue(tenant))["agents"]}
    assert loads[mine.id] == 1 and loads[theirs.id] == 0

    # The same shopper comes back with a new conversation.
    again = await rhttp.post("/api/v1/widget/conversations", headers=shopper.headers)
    assert again.status_code == 200
    new_id = again.json()["id"]
    assert new_id != shopper.conversation_id
    ack = await ws.send_message(new_id, "It's me again", "again-1")
    assert ack["type"] == "message.ack"
    frame = await assignment(ws, new_id)
    assert frame["assignee_id"] == mine.id
    assert frame["reason"] == "previous_agent"

    # A stranger at that moment goes to the least loaded agent instead.
    stranger, ws2 = await shopper_writes(rserver, tenant, "Hi")
    assert (await assignment(ws2, stranger.conversation_id))["assignee_id"] == theirs.id
    await close_all(*consoles, ws, ws2)


async def test_fallback_from_market_and_language_to_language_only(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    made = await rhttp.post(
        "/api/v1/markets",
        json={"code": "US", "tz": "America/New_York", "languages": ["en"]},
        headers=tenant.admin.headers,
    )
    assert made.status_code == 201, made.text
    english = tenant.agent  # speaks English, serves Germany only
    await profile(tenant, english, languages=["en"], markets=["DE"])
    german = await tenant.add_agent("Greta")  # serves the US, speaks German only
    await profile(tenant, german, languages=["de"], markets=["US"])
    consoles = [await online(rserver, english), await online(rserver, german)]

    shopper, ws = await shopper_writes(rserver, tenant, "Hi!", market="us", language="en-US")
    frame = await assignment(ws, shopper.conversation_id)
    assert frame["assignee_id"] == english.id
    assert frame["match"] == "language_only"
    detail = await summary(tenant, shopper.conversation_id)
    assert detail["assignee"]["id"] == english.id

    # Without the fallback the next American waits, though the English agent is free.
    changed = await rhttp.put(
        "/api/v1/routing", json={"fallback_to_language": False}, headers=tenant.admin.headers
    )
    assert changed.json() == {
        "enabled": True,
        "fallback_to_language": False,
        "default_market": None,
    }
    waiting, ws2 = await shopper_writes(rserver, tenant, "Hello", market="US", language="en")
    assert (await queue_status(ws2, waiting.conversation_id))["position"] == 1
    # The German-speaking agent who serves the US does not get it either.
    await asyncio.sleep(0.6)
    assert (await summary(tenant, waiting.conversation_id))["assignee"] is None

    # An agent for the US who speaks English comes online: the conversation is theirs.
    both = await tenant.add_agent("Sam")
    await profile(tenant, both, languages=["en", "es"], markets=["US"])
    sam = await online(rserver, both)
    frame = await assignment(ws2, waiting.conversation_id)
    assert frame["assignee_id"] == both.id
    assert frame["match"] == "market_and_language"
    assert frame["queued_seconds"] >= 0
    await close_all(*consoles, sam, ws, ws2)


async def test_queue_is_served_oldest_first_with_positions(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    await profile(tenant, tenant.agent, max_chats=2)

    # Nobody is online: three shoppers queue in the order they wrote.
    waiting: list[tuple[str, WsClient]] = []
    for n in range(3):
        shopper, ws = await shopper_writes(rserver, tenant, f"question {n}")
        status = await queue_status(ws, shopper.conversation_id)
        assert status["position"] == n + 1, status
        waiting.append((shopper.conversation_id, ws))
    listed = await queue(tenant)
    assert [(q["position"], q["conversation_id"]) for q in listed["queue"]] == [
        (n + 1, cid) for n, (cid, _ws) in enumerate(waiting)
    ]
    assert listed["queue"][0]["waiting_seconds"] >= 0

    # The agent connects: the two oldest are theirs (max 2), the youngest moves up to 1.
    console = await online(rserver, tenant.agent)
    for cid, ws in waiting[:2]:
        frame = await assignment(ws, cid)
        assert frame["assignee_id"] == tenant.agent.id
    last_id, last_ws = waiting[2]
    await queue_status(last_ws, last_id, position=1)
    assert (await summary(tenant, last_id))["assignee"] is None
    await assignment(console, waiting[1][0])
    order = [
        f["conversation_id"]
        for f in console.frames
        if f["type"] == "conversation.updated" and f.get("change") == "assigned"
    ]
    assert order == [cid for cid, _ws in waiting[:2]]

    # Capacity frees: the last one is assigned.
    closed = await rhttp.post(
        f"/api/v1/conversations/{waiting[0][0]}/close", headers=tenant.agent.headers
    )
    assert closed.status_code == 200
    assert (await assignment(last_ws, last_id))["assignee_id"] == tenant.agent.id
    await close_all(console, *(ws for _cid, ws in waiting))


async def test_a_reopened_conversation_is_routed_again(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    console = await online(rserver, tenant.agent)
    shopper, ws = await shopper_writes(rserver, tenant, "First question")
    assert (await assignment(ws, shopper.conversation_id))["assignee_id"] == tenant.agent.id
    closed = await rhttp.post(
        f"/api/v1/conversations/{shopper.conversation_id}/close", headers=tenant.agent.headers
    )
    assert closed.status_code == 200
    await console.close()  # the agent leaves; the shopper writes again

    mark = len(ws.frames)
    ack = await ws.send_message(shopper.conversation_id, "One more thing", "again")
    assert ack["type"] == "message.ack"
    status = await queue_status(ws, shopper.conversation_id, since=mark)
    assert status["position"] == 1
    detail = await summary(tenant, shopper.conversation_id)
    assert detail["status"] == "open" and detail["assignee"] is None
    changes = [f for f in ws.frames[mark:] if f["type"] == "conversation.updated"]
    assert [(f["change"], f["assignee_id"]) for f in changes][-2:] == [
        ("reopened", tenant.agent.id),
        ("assigned", None),
    ]
    assert changes[-1]["reason"] == "queued"

    mark = len(ws.frames)
    console = await online(rserver, tenant.agent)
    back = await assignment(ws, shopper.conversation_id, since=mark)
    assert back["assignee_id"] == tenant.agent.id
    await close_all(console, ws)


async def test_routing_off_keeps_manual_assignment(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    off = await rhttp.put("/api/v1/routing", json={"enabled": False}, headers=tenant.admin.headers)
    assert off.json()["enabled"] is False
    console = await online(rserver, tenant.agent)
    shopper, ws = await shopper_writes(rserver, tenant, "Hello")
    await asyncio.sleep(0.6)
    found = await events(tenant, shopper.conversation_id)
    assert [e["type"] for e in found] == ["message.new"]
    assert not [f for f in ws.frames if f["type"] == "queue.status"]
    assert (await queue(tenant))["queue"] == []
    await close_all(console, ws)


async def test_shoppers_writing_at_once_never_push_an_agent_past_capacity(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    await profile(tenant, tenant.agent, max_chats=2)
    console = await online(rserver, tenant.agent)
    shoppers = [await tenant.shopper() for _ in range(5)]
    sockets = [await WsClient.open(rserver, s.token) for s in shoppers]
    for ws in sockets:
        await ws.expect("synced")
    acks = await asyncio.gather(
        *(
            ws.send_message(s.conversation_id, f"all at once {n}", f"burst-{n}")
            for n, (s, ws) in enumerate(zip(shoppers, sockets, strict=True))
        )
    )
    assert all(ack["type"] == "message.ack" for ack in acks)
    await asyncio.sleep(1.0)  # routing of all five, and a few sweeps
    listed = await queue(tenant)
    load = {a["id"]: a["load"] for a in listed["agents"]}
    assert load[tenant.agent.id] == 2
    assert len(listed["queue"]) == 3
    assert [q["position"] for q in listed["queue"]] == [1, 2, 3]
    assigned = [
        s.conversation_id
        for s in shoppers
        if (await summary(tenant, s.conversation_id))["assignee"] is not None
    ]
    assert len(assigned) == 2
    await close_all(console, *sockets)
