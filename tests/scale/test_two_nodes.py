"""Two nodes on one PostgreSQL and one Redis behave as one server.

A shopper on node A and an agent on node B: messages both ways, typing both ways, read
receipts, and agents' presence across nodes (online and offline), as if on one node.
"""

from __future__ import annotations

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster


async def test_shopper_on_one_node_and_agent_on_the_other(cluster: Cluster) -> None:
    tenant = await cluster.create_tenant("Twin", agents=2)
    node_a, node_b = await cluster.start_nodes(2)
    await cluster.login_agents(tenant, node_b)
    shopper = await cluster.shopper(tenant, node_a)
    cid = shopper.conversation_id
    urls = [node_a.ws_url, node_b.ws_url]
    agent, colleague = tenant.agents

    watcher = ResumingClient("colleague", colleague.token, urls, [cid])
    shop = ResumingClient("shopper", shopper.token, urls, [cid])
    desk = ResumingClient("agent", agent.token, urls, [cid])
    clients = [watcher, shop, desk]
    try:
        await watcher.connect(0)
        await shop.connect(0)
        # The agent's first connection, on B, is announced to agents on A.
        await desk.connect(1)
        online = await watcher.wait_frame("presence", agent_id=agent.id, connected=True)
        assert online["name"] == agent.name and online["online"] is True

        # Shopper (A) -> agent (B), and the reply back.
        asked = await shop.send_message(cid, "Where is my parcel?")
        await shop.wait_acked([asked])
        assert shop.acks[asked]["seq"] == 1
        await desk.wait_seq(cid, 1)
        message = desk.applied[cid][0]["message"]
        assert (message["text"], message["author"]["type"]) == ("Where is my parcel?", "visitor")
        assert message["author"]["id"] == shopper.visitor_id

        replied = await desk.send_message(cid, "It ships today")
        await desk.wait_acked([replied])
        await shop.wait_seq(cid, 2)
        assert shop.texts(cid) == ["Where is my parcel?", "It ships today"]
        assert shop.applied[cid][1]["message"]["author"] == {
            "type": "agent",
            "id": agent.id,
            "name": agent.name,
        }

        # Several in a row from both sides, on both nodes: one order for everyone.
        for i in range(5):
            await shop.send_message(cid, f"shopper {i}")
            await desk.send_message(cid, f"agent {i}")
        await shop.wait_for(lambda: not shop.pending, what="shopper's acks")
        await desk.wait_for(lambda: not desk.pending, what="agent's acks")
        for client in clients:
            await client.wait_seq(cid, 12)
        assert shop.texts(cid) == desk.texts(cid) == watcher.texts(cid)
        assert shop.seqs(cid) == list(range(1, 13))

        # Typing crosses nodes both ways; nobody gets their own.
        await shop.send({"type": "typing", "conversation_id": cid, "state": True})
        typing = await desk.wait_frame("typing", conversation_id=cid)
        assert typing["author"]["id"] == shopper.visitor_id and typing["state"] is True
        await desk.send({"type": "typing", "conversation_id": cid, "state": True})
        typing = await shop.wait_frame("typing", conversation_id=cid)
        assert typing["author"] == {"type": "agent", "id": agent.id, "name": agent.name}
        await watcher.wait_frame("typing", conversation_id=cid, author=typing["author"])

        # A read receipt from A reaches B.
        await shop.send({"type": "read", "conversation_id": cid, "seq": 12})
        read = await desk.wait_frame("read", conversation_id=cid)
        assert read["seq"] == 12 and read["reader"]["id"] == shopper.visitor_id

        # The agent's last connection closes on B: agents on A see them go offline.
        await desk.drop()
        offline = await watcher.wait_frame("presence", agent_id=agent.id, connected=False)
        assert offline["online"] is False

        for client in clients:
            assert not client.gaps and not client.errors and not client.failures, client.name
        assert not [
            f for f in shop.ephemeral if f.get("author", {}).get("id") == shopper.visitor_id
        ]
        assert not [f for f in desk.ephemeral if f.get("author", {}).get("id") == agent.id]
    finally:
        for client in clients:
            await client.close()
