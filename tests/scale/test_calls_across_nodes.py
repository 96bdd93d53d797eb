"""Calls between people on different nodes: the tenant's call home holds the call and the
other node forwards its clients' call frames, opens and closes (server/call_home.py).

Two real nodes on one PostgreSQL and one Redis. The first call frame of a tenant makes
the node it reaches the tenant's call home, so each test knows which node that is: the
full signaling both ways, busy and outsiders across nodes, a new tab on the other node
learning of the live call, and a connection lost on the node that is not the home ending
the call `dropped` (after the grace while active, at once while ringing).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.scale.client import ResumingClient
from tests.scale.cluster import HTTP_TIMEOUT, Cluster, KefuNode, Shopper, Tenant

GRACE = 1.0
STEP = 15.0
SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"
_ids = itertools.count(1)

Match = Callable[[dict[str, Any]], bool]


def is_(kind: str, **fields: Any) -> Match:
    return lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items())


def live(kind: str, **fields: Any) -> Match:
    """A live frame (no seq): not the stored history event of the same type."""
    match = is_(kind, **fields)
    return lambda f: match(f) and "seq" not in f


def seen(client: ResumingClient, match: Match) -> list[dict[str, Any]]:
    return [f for f in client.ephemeral + client.errors if match(f)]


async def wait(client: ResumingClient, match: Match, what: str) -> dict[str, Any]:
    await client.wait_for(lambda: bool(seen(client, match)), STEP, what)
    return seen(client, match)[0]


async def ask(client: ResumingClient, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame with a fresh id; the first frame that echoes it (answer or error)."""
    frame = {**frame, "id": f"{client.name}-{next(_ids)}"}
    await client.send(frame)
    return await wait(client, lambda f: f.get("id") == frame["id"], f"answer to {frame}")


def invite(cid: str) -> dict[str, Any]:
    return {"type": "call.invite", "conversation_id": cid, "media": "audio"}


def signal(call_id: str, **payload: Any) -> dict[str, Any]:
    return {"type": "call.signal", "call_id": call_id, **payload}


def candidate(call_id: str, port: int) -> dict[str, Any]:
    line = CANDIDATE.format(port=port)
    return signal(call_id, candidate={"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0})


def signals(client: ResumingClient, call_id: str) -> list[dict[str, Any]]:
    return seen(client, is_("call.signal", call_id=call_id))


async def assign(node: KefuNode, tenant: Tenant, cid: str, agent_index: int = 0) -> None:
    agent = tenant.agents[agent_index]
    async with httpx.AsyncClient(base_url=node.base_url, timeout=HTTP_TIMEOUT) as http:
        response = await http.post(
            f"/api/v1/conversations/{cid}/assign",
            json={"agent_id": agent.id},
            headers={"Authorization": f"Bearer {agent.token}"},
        )
    assert response.status_code == 200, response.text


async def history(
    cluster: Cluster, node: KefuNode, shopper: Shopper, call_id: str
) -> dict[str, dict[str, Any]]:
    """The stored `call.started` and `call.ended` of a call, waiting (bounded) for both."""
    deadline = time.monotonic() + STEP
    while True:
        events = await cluster.stored_events(node, shopper.token, shopper.conversation_id)
        found = {e["type"]: e for e in events if e.get("call_id") == call_id}
        if {"call.started", "call.ended"} <= set(found):
            return found
        assert time.monotonic() < deadline, f"history of {call_id} incomplete: {found}"
        await asyncio.sleep(0.05)


async def two_nodes(cluster: Cluster, agents: int = 2) -> tuple[Tenant, KefuNode, KefuNode]:
    tenant = await cluster.create_tenant("Phone", agents=agents)
    node_a, node_b = await cluster.start_nodes(
        2, KEFU_CALL_RECONNECT_GRACE_SECONDS=str(GRACE), KEFU_CALL_RING_TIMEOUT_SECONDS="60"
    )
    await cluster.login_agents(tenant, node_b)
    return tenant, node_a, node_b


@dataclass
class Pair:
    """A shopper who lands on node A, in a conversation assigned to an agent on node B."""

    tenant: Tenant
    node_a: KefuNode
    node_b: KefuNode
    shopper: Shopper

    @property
    def cid(self) -> str:
        return self.shopper.conversation_id

    @property
    def urls(self) -> list[str]:
        return [self.node_a.ws_url, self.node_b.ws_url]


async def shopper_on_a_agent_on_b(cluster: Cluster, agents: int = 2) -> Pair:
    tenant, node_a, node_b = await two_nodes(cluster, agents=agents)
    shopper = await cluster.shopper(tenant, node_a)
    await assign(node_b, tenant, shopper.conversation_id)
    return Pair(tenant, node_a, node_b, shopper)


def no_live_call_frames(client: ResumingClient, call_id: str) -> bool:
    """Nothing live of the call (staff do follow its stored history, like every event)."""
    return not [f for f in client.ephemeral if f.get("call_id") == call_id and "seq" not in f]


async def test_shopper_on_one_node_calls_the_agent_on_the_other(cluster: Cluster) -> None:
    pair = await shopper_on_a_agent_on_b(cluster)
    tenant, node_b, shopper = pair.tenant, pair.node_b, pair.shopper
    cid, urls = pair.cid, pair.urls
    shop = ResumingClient("shopper", shopper.token, urls, [cid])
    desk = ResumingClient("agent", tenant.agents[0].token, urls, [cid])
    colleague = ResumingClient("colleague", tenant.agents[1].token, urls, [cid])
    clients = [shop, desk, colleague]
    try:
        await shop.connect(0)
        await desk.connect(1)
        await colleague.connect(1)

        # The invite reaches A first: A is the home; the agent on B hears it ring.
        ringing = await ask(shop, invite(cid))
        assert ringing["type"] == "call.ringing", ringing
        call_id = ringing["call_id"]
        incoming = await wait(desk, is_("call.incoming", call_id=call_id), "incoming")
        assert incoming["conversation_id"] == cid

        # The accept, from B, is forwarded to A (before: `call_not_found`).
        accepted = await ask(desk, {"type": "call.accept", "call_id": call_id})
        assert accepted["type"] == "call.accepted", accepted
        await wait(shop, is_("call.accepted", call_id=call_id), "accepted at the caller")

        # Offer, answer and candidates reach the other participant's connection only.
        await shop.send(signal(call_id, description={"type": "offer", "sdp": SDP}))
        offer = await wait(desk, is_("call.signal", call_id=call_id), "the offer")
        assert offer["description"] == {"type": "offer", "sdp": SDP}
        await desk.send(signal(call_id, description={"type": "answer", "sdp": SDP}))
        answer = await wait(shop, is_("call.signal", call_id=call_id), "the answer")
        assert answer["description"]["type"] == "answer"
        for port in (50001, 50002):
            await shop.send(candidate(call_id, port))
            await desk.send(candidate(call_id, port + 100))
        await desk.wait_for(lambda: len(signals(desk, call_id)) == 3, STEP, "2 candidates")
        await shop.wait_for(lambda: len(signals(shop, call_id)) == 3, STEP, "2 candidates")
        assert [s["candidate"]["candidate"] for s in signals(desk, call_id)[1:]] == [
            CANDIDATE.format(port=port) for port in (50001, 50002)
        ]
        assert [s["candidate"]["candidate"] for s in signals(shop, call_id)[1:]] == [
            CANDIDATE.format(port=port + 100) for port in (50001, 50002)
        ]

        # Hang up from B: both sides hear the end, live and then stored with seqs.
        ended = await ask(desk, {"type": "call.hangup", "call_id": call_id})
        assert ended["type"] == "call.ended" and ended["reason"] == "hung_up", ended
        mine = await wait(shop, live("call.ended", call_id=call_id), "the end at the shopper")
        assert mine["reason"] == "hung_up" and mine["by"]["id"] == tenant.agents[0].id
        stored = await history(cluster, node_b, shopper, call_id)
        assert 0 < stored["call.started"]["seq"] < stored["call.ended"]["seq"]
        assert stored["call.ended"]["reason"] == "hung_up"
        await shop.wait_for(
            lambda: bool(seen(shop, is_("call.ended", seq=stored["call.ended"]["seq"]))),
            STEP,
            "the stored call.ended",
        )

        assert not signals(colleague, call_id), "another agent saw the call's signals"
        for client in clients:
            assert not client.errors and not client.failures, client.describe()
    finally:
        for client in clients:
            await client.close()


async def test_agent_on_one_node_calls_the_shopper_on_the_other(cluster: Cluster) -> None:
    pair = await shopper_on_a_agent_on_b(cluster, agents=1)
    tenant, node_a, shopper = pair.tenant, pair.node_a, pair.shopper
    cid, urls = pair.cid, pair.urls
    shop = ResumingClient("shopper", shopper.token, urls, [cid])
    desk = ResumingClient("agent", tenant.agents[0].token, urls, [cid])
    tab = ResumingClient("shopper-tab", shopper.token, urls, [cid])
    clients = [shop, desk, tab]
    try:
        await shop.connect(0)
        await desk.connect(1)

        # The agent's invite reaches B first: B is the home; the shopper is on A.
        ringing = await ask(desk, invite(cid))
        assert ringing["type"] == "call.ringing", ringing
        call_id = ringing["call_id"]
        await wait(shop, is_("call.incoming", call_id=call_id), "incoming at the shopper")
        accepted = await ask(shop, {"type": "call.accept", "call_id": call_id})
        assert accepted["type"] == "call.accepted", accepted
        await wait(desk, is_("call.accepted", call_id=call_id), "accepted at the agent")

        # A second tab of the shopper, on A, learns of the live call from the home (B).
        await tab.connect(0)
        state = await wait(tab, is_("call.state", call_id=call_id), "call.state after welcome")
        assert state["state"] == "active" and state["role"] == "callee"

        await desk.send(signal(call_id, description={"type": "offer", "sdp": SDP}))
        await wait(shop, is_("call.signal", call_id=call_id), "the offer")
        await shop.send(signal(call_id, description={"type": "answer", "sdp": SDP}))
        await wait(desk, is_("call.signal", call_id=call_id), "the answer")
        assert not signals(tab, call_id), "a tab not bound to the call saw its signals"

        # A refused signal from A is answered on A (and charged to that connection there).
        refused = await ask(tab, candidate(call_id, 50010))
        assert refused["type"] == "error" and refused["code"] == "signal_not_allowed", refused
        tab.errors.clear()

        ended = await ask(shop, {"type": "call.hangup", "call_id": call_id})
        assert ended["type"] == "call.ended" and ended["reason"] == "hung_up", ended
        await wait(desk, live("call.ended", call_id=call_id), "the end at the agent")
        stored = await history(cluster, node_a, shopper, call_id)
        assert stored["call.started"]["seq"] < stored["call.ended"]["seq"]
        for client in clients:
            assert not client.errors and not client.failures, client.describe()
    finally:
        for client in clients:
            await client.close()


async def test_busy_and_outsiders_across_nodes(cluster: Cluster) -> None:
    tenant, node_a, node_b = await two_nodes(cluster)
    first = await cluster.shopper(tenant, node_a)
    second = await cluster.shopper(tenant, node_b)
    for shopper in (first, second):
        await assign(node_b, tenant, shopper.conversation_id)
    urls = [node_a.ws_url, node_b.ws_url]
    shop = ResumingClient("first", first.token, urls, [first.conversation_id])
    other = ResumingClient("second", second.token, urls, [second.conversation_id])
    desk = ResumingClient("agent", tenant.agents[0].token, urls, [])
    colleague = ResumingClient("colleague", tenant.agents[1].token, urls, [])
    clients = [shop, other, desk, colleague]
    try:
        await shop.connect(0)
        await other.connect(1)
        await desk.connect(0)
        await colleague.connect(1)

        # A call on A's home (the first invite reached A).
        ringing = await ask(shop, invite(first.conversation_id))
        call_id = ringing["call_id"]
        await wait(desk, is_("call.incoming", call_id=call_id), "incoming")
        accepted = await ask(desk, {"type": "call.accept", "call_id": call_id})
        assert accepted["type"] == "call.accepted", accepted

        # The second shopper, on B, calls the same agent: busy, decided at A's home.
        busy = await ask(other, invite(second.conversation_id))
        assert busy["type"] == "call.ended" and busy["reason"] == "busy", busy
        assert busy["call_id"] != call_id

        # Outsiders on B: another agent cannot take part, another shopper cannot see it.
        for frame, code in (
            ({"type": "call.accept", "call_id": call_id}, "not_a_participant"),
            ({"type": "call.hangup", "call_id": call_id}, "not_a_participant"),
            (signal(call_id, description={"type": "offer", "sdp": SDP}), "signal_not_allowed"),
        ):
            refused = await ask(colleague, frame)
            assert refused["type"] == "error" and refused["code"] == code, (frame, refused)
        refused = await ask(other, invite(first.conversation_id))
        assert refused["code"] == "conversation_not_found", refused
        refused = await ask(other, {"type": "call.hangup", "call_id": call_id})
        assert refused["code"] == "not_a_participant", refused
        assert no_live_call_frames(colleague, call_id) and no_live_call_frames(other, call_id)

        # The call is untouched: it ends normally.
        ended = await ask(shop, {"type": "call.hangup", "call_id": call_id})
        assert ended["type"] == "call.ended" and ended["reason"] == "hung_up", ended
        await wait(desk, live("call.ended", call_id=call_id), "the end at the agent")
        assert not desk.errors and not shop.errors
    finally:
        for client in clients:
            await client.close()


async def test_a_connection_lost_on_the_other_node_drops_the_call(cluster: Cluster) -> None:
    pair = await shopper_on_a_agent_on_b(cluster, agents=1)
    tenant, node_a, shopper = pair.tenant, pair.node_a, pair.shopper
    cid, urls = pair.cid, pair.urls
    shop = ResumingClient("shopper", shopper.token, urls, [cid])
    desk = ResumingClient("agent", tenant.agents[0].token, urls, [cid])
    again = ResumingClient("agent-again", tenant.agents[0].token, urls, [cid])
    clients = [shop, desk, again]
    try:
        await shop.connect(0)
        await desk.connect(1)
        ringing = await ask(shop, invite(cid))  # A is the home
        call_id = ringing["call_id"]
        await wait(desk, is_("call.incoming", call_id=call_id), "incoming")
        accepted = await ask(desk, {"type": "call.accept", "call_id": call_id})
        assert accepted["type"] == "call.accepted", accepted

        # The agent's socket on B goes away: A hears of it, announces the interruption,
        # and ends the call `dropped` once the grace is over.
        lost_at = time.monotonic()
        await desk.drop()
        state = await wait(shop, is_("call.state", call_id=call_id), "the interruption")
        assert tenant.agents[0].id in {p["id"] for p in state["interrupted"]}, state
        ended = await wait(shop, live("call.ended", call_id=call_id), "the drop")
        assert ended["reason"] == "dropped", ended
        assert time.monotonic() - lost_at >= GRACE * 0.9
        stored = await history(cluster, node_a, shopper, call_id)
        assert stored["call.ended"]["reason"] == "dropped"

        # A ringing caller on B (not the home) that vanishes: `dropped` at once.
        await again.connect(1)
        ringing = await ask(again, invite(cid))
        assert ringing["type"] == "call.ringing", ringing
        second = ringing["call_id"]
        await wait(shop, is_("call.incoming", call_id=second), "incoming at the shopper")
        await again.drop()
        ended = await wait(shop, live("call.ended", call_id=second), "the caller's drop")
        assert ended["reason"] == "dropped", ended
        assert not shop.errors and not shop.failures
    finally:
        for client in clients:
            await client.close()
