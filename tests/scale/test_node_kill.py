"""A node killed with SIGKILL in the middle of a burst loses nothing and duplicates nothing.

20 conversations, each shopper sending 20 messages without waiting for acks; shoppers and
two agents spread over two nodes. Once about a quarter of the messages are acked, node A
is killed. Its clients reconnect to node B with `hello.resume` (their last applied seqs)
and resend their unacked sends with the same ids. At the end, checked against the store
(REST history): every send is acked; each client id is stored once; every acked message
is stored with its acked seq; every follower (the shopper and both agents) applied every
stored event of each conversation exactly once, in seq order, with no gap; and every
client of the killed node resumed on the other node.
"""

from __future__ import annotations

import asyncio
import time

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster

CONVERSATIONS = 20
MESSAGES = 20
KILL_AFTER_ACKS = CONVERSATIONS * MESSAGES // 4


async def _burst(client: ResumingClient, cid: str) -> None:
    for i in range(MESSAGES):
        await client.send_message(cid, f"{client.name} says {i}", f"{client.name}-m{i}")
        await asyncio.sleep(0.03)


async def test_killed_node_loses_nothing_and_duplicates_nothing(cluster: Cluster) -> None:
    tenant = await cluster.create_tenant("Burst", agents=2)
    node_a, node_b = await cluster.start_nodes(2)
    await cluster.login_agents(tenant, node_a)
    shoppers = [
        await cluster.shopper(tenant, (node_a, node_b)[i % 2]) for i in range(CONVERSATIONS)
    ]
    cids = [s.conversation_id for s in shoppers]
    urls = [node_a.ws_url, node_b.ws_url]

    shop_clients = [
        ResumingClient(f"shopper{i}", s.token, urls, [s.conversation_id])
        for i, s in enumerate(shoppers)
    ]
    agent_clients = [
        ResumingClient(f"agent{i}", agent.token, urls, cids)
        for i, agent in enumerate(tenant.agents)
    ]
    clients = shop_clients + agent_clients
    try:
        for i, client in enumerate(clients):
            await client.connect(i % 2)  # even ones on A (killed), odd ones on B
        on_a = [c for c in clients if c.node == 0]
        assert len(on_a) == (len(clients) + 1) // 2

        bursts = [
            asyncio.create_task(_burst(c, s.conversation_id))
            for c, s in zip(shop_clients, shoppers, strict=True)
        ]

        def acked() -> int:
            return sum(len(c.acks) for c in shop_clients)

        deadline = time.monotonic() + 30
        while acked() < KILL_AFTER_ACKS:
            assert time.monotonic() < deadline, f"only {acked()} acks within 30 s"
            await asyncio.sleep(0.005)
        node_a.kill()
        acked_at_kill = acked()

        await asyncio.wait_for(asyncio.gather(*bursts), 60)
        for client in shop_clients:
            await client.wait_for(lambda c=client: not c.pending, 60, "every send acked")

        # The store, through the surviving node.
        reader = tenant.agents[0].token
        stored = {cid: await cluster.stored_events(node_b, reader, cid) for cid in cids}
        for client, shopper in zip(shop_clients, shoppers, strict=True):
            events = stored[shopper.conversation_id]
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            client_ids = [e["message"]["client_id"] for e in events if e["type"] == "message.new"]
            assert len(client_ids) == len(set(client_ids)), f"duplicates in {client.name}'s"
            assert sorted(client_ids) == sorted(f"{client.name}-m{i}" for i in range(MESSAGES))
            by_id = {e["message"]["client_id"]: e for e in events if e["type"] == "message.new"}
            for client_id, ack in client.acks.items():
                assert (ack["seq"], ack["message_id"]) == (
                    by_id[client_id]["seq"],
                    by_id[client_id]["message"]["id"],
                ), client_id

        # Every follower applied each stored event once, in order: nothing lost, no dupes.
        for shopper, client in zip(shoppers, shop_clients, strict=True):
            followers = [client, *agent_clients]
            cid = shopper.conversation_id
            last = len(stored[cid])
            for follower in followers:
                await follower.wait_seq(cid, last, 30)
                applied = [
                    (f["seq"], f.get("message", {}).get("id")) for f in follower.applied[cid]
                ]
                expected = [(e["seq"], e.get("message", {}).get("id")) for e in stored[cid]]
                assert applied == expected, f"{follower.name} on {cid}"

        for client in clients:
            assert not client.gaps, (client.name, client.gaps)
            assert not client.failures, client.failures
            assert not [e for e in client.errors if e.get("code") != "rate_limited"], client.errors
        # Every client of the killed node resumed on the other one, from its own seqs.
        for client in on_a:
            assert client.resumes, f"{client.name} did not resume"
            resumed = client.resumes[0]
            assert resumed.url == node_b.ws_url
            assert resumed.synced is not None
            assert set(resumed.synced["conversations"]) == set(resumed.resume)
            for cid, seq in resumed.resume.items():
                assert resumed.synced["conversations"][cid] >= seq
        # Clients of the surviving node never had to reconnect.
        assert all(len(c.connections) == 1 for c in clients if c not in on_a)
        # The kill really happened mid-burst: unacked sends were resent after it.
        assert acked_at_kill < CONVERSATIONS * MESSAGES
        assert sum(len(r.resent) for c in on_a for r in c.resumes) > 0
    finally:
        for client in clients:
            await client.close()
