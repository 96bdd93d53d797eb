"""A cluster starting from nothing: nodes started at the same moment on an empty database.

This is what `docker compose up` does with two gateway nodes: both run the migrations at
start. Both must come up ready, on one schema, and serve the same tenant.
"""

from __future__ import annotations

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster


async def test_nodes_started_together_on_an_empty_database(cluster: Cluster) -> None:
    node_a, node_b = await cluster.start_nodes(2)  # both migrate the empty database at once
    tenant = await cluster.create_tenant("Fresh", agents=1)
    await cluster.login_agents(tenant, node_b)
    shopper = await cluster.shopper(tenant, node_a)
    cid = shopper.conversation_id
    urls = [node_a.ws_url, node_b.ws_url]
    shop = ResumingClient("shopper", shopper.token, urls, [cid])
    agent = ResumingClient("agent", tenant.agents[0].token, urls, [cid])
    try:
        await shop.connect(0)
        await agent.connect(1)
        sent = await shop.send_message(cid, "hello from a fresh cluster")
        await shop.wait_acked([sent])
        await agent.wait_seq(cid, 1)
        assert agent.texts(cid) == ["hello from a fresh cluster"]
    finally:
        await shop.close()
        await agent.close()
