"""Agents' presence across nodes: a dead node's agents drop out on their own.

Presence lives in Redis with an expiry that each node refreshes; a node killed with
SIGKILL stops refreshing, so its agents are no longer connected for the rest of the
cluster once the expiry passes (30 s), while agents of live nodes stay connected.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster, KefuNode
from tests.services import OwnRedis

PRESENCE_TTL = 30.0


async def _connected(node: KefuNode, token: str) -> dict[str, bool]:
    async with httpx.AsyncClient(base_url=node.base_url, timeout=10) as http:
        response = await http.get("/api/v1/agents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {a["id"]: a["connected"] for a in response.json()["agents"]}


async def test_agents_of_a_killed_node_expire(cluster: Cluster) -> None:
    tenant = await cluster.create_tenant("Expiry", agents=2)
    node_a, node_b = await cluster.start_nodes(2)
    await cluster.login_agents(tenant, node_b)
    gone, staying = tenant.agents
    urls = [node_a.ws_url, node_b.ws_url]
    on_a = ResumingClient("gone", gone.token, urls, [])
    on_b = ResumingClient("staying", staying.token, urls, [])
    try:
        await on_b.connect(1)
        await on_a.connect(0)
        await on_b.wait_frame("presence", agent_id=gone.id, connected=True)
        assert await _connected(node_b, staying.token) == {gone.id: True, staying.id: True}

        on_a.auto_reconnect = False  # the agent closes the laptop as the node dies
        node_a.kill()
        killed_at = time.monotonic()
        deadline = killed_at + PRESENCE_TTL + 15
        while (await _connected(node_b, staying.token))[gone.id]:
            assert time.monotonic() < deadline, "the dead node's agent never expired"
            await asyncio.sleep(1.0)
        assert await _connected(node_b, staying.token) == {gone.id: False, staying.id: True}
    finally:
        await on_a.close()
        await on_b.close()


async def test_an_agent_can_connect_while_redis_is_down(
    cluster: Cluster, own_redis: OwnRedis
) -> None:
    """Presence is advisory: a Redis outage must not lock agents out of the store."""
    tenant = await cluster.create_tenant("NoBus", agents=1)
    (node,) = await cluster.start_nodes(1)
    await cluster.login_agents(tenant, node)
    shopper = await cluster.shopper(tenant, node)
    cid = shopper.conversation_id
    agent = ResumingClient("agent", tenant.agents[0].token, [node.ws_url], [cid])
    try:
        own_redis.stop()
        await agent.connect(0, timeout=15)
        await agent.wait_for(lambda: agent.connections[0].synced is not None, 5, "synced")
        await asyncio.sleep(1.0)
        assert len(agent.connections) == 1, f"dropped {len(agent.connections) - 1} times"
        sent = await agent.send_message(cid, "the store is up, so I can answer")
        await agent.wait_acked([sent], 10)
    finally:
        agent.auto_reconnect = False
        await agent.close()
