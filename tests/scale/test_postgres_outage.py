"""PostgreSQL stopped during traffic: sends are refused, retryable, never acked; then all is well.

Background shoppers on both nodes send steadily, retrying refused sends with the same id.
PostgreSQL is stopped (`pg_ctl stop -m fast`). A shopper's new sends each get an `error`
with code `store_unavailable` and `retryable: true`, and no ack; /readyz answers 503 on
both nodes with the store unreachable. PostgreSQL starts again: /readyz is 200 by itself,
the refused sends retried with the same ids are acked, and the store holds every acked
message exactly once, which every follower has applied in order.
"""

from __future__ import annotations

import asyncio
import time

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster, OwnPostgres

BACKGROUND = 4
BACKGROUND_MESSAGES = 40


async def _steady(client: ResumingClient, cid: str, stop_after: int) -> None:
    """One send at a time; a refused send is retried with the same id until acked."""
    for i in range(stop_after):
        client_id = await client.send_message(cid, f"{client.name} steady {i}")
        deadline = time.monotonic() + 60
        while client_id not in client.acks:
            assert time.monotonic() < deadline, f"{client_id} never acked"
            refused = len(client.errors)
            await client.wait_for(
                lambda c=client, n=refused, k=client_id: k in c.acks or len(c.errors) > n,
                30,
                f"ack or error for {client_id}",
            )
            if client_id not in client.acks:
                await asyncio.sleep(0.25)
                await client.resend_pending()
        await asyncio.sleep(0.1)


async def test_postgres_outage_refuses_sends_then_recovers(
    cluster: Cluster, own_postgres: OwnPostgres
) -> None:
    tenant = await cluster.create_tenant("Outage", agents=1)
    node_a, node_b = await cluster.start_nodes(2)
    nodes = (node_a, node_b)
    await cluster.login_agents(tenant, node_b)
    main = await cluster.shopper(tenant, node_a)
    others = [await cluster.shopper(tenant, nodes[i % 2]) for i in range(BACKGROUND)]
    cids = [main.conversation_id] + [s.conversation_id for s in others]
    urls = [node_a.ws_url, node_b.ws_url]
    shop = ResumingClient("shopper", main.token, urls, [main.conversation_id])
    background = [
        ResumingClient(f"steady{i}", s.token, urls, [s.conversation_id])
        for i, s in enumerate(others)
    ]
    agent = ResumingClient("agent", tenant.agents[0].token, urls, cids)
    clients = [shop, *background, agent]
    cid = main.conversation_id
    try:
        await agent.connect(1)
        await shop.connect(0)
        for i, client in enumerate(background):
            await client.connect(i % 2)
        first = await shop.send_message(cid, "before the outage")
        await shop.wait_acked([first])

        steady = [
            asyncio.create_task(_steady(c, s.conversation_id, BACKGROUND_MESSAGES))
            for c, s in zip(background, others, strict=True)
        ]
        await asyncio.sleep(1.0)
        assert all(c.acks for c in background), "background traffic is flowing"

        await asyncio.to_thread(own_postgres.stop, "fast")
        refused_ids = []
        for i in range(3):
            client_id = await shop.send_message(cid, f"while the store is down {i}")
            refused_ids.append(client_id)
            await shop.wait_for(
                lambda k=client_id: any(e.get("id") == k for e in shop.errors) or k in shop.acks,
                30,
                f"answer to {client_id}",
            )
            error = next(e for e in shop.errors if e.get("id") == client_id)
            assert error["code"] == "store_unavailable", error
            assert error["retryable"] is True, error
        for node in nodes:
            body = await node.wait_readyz(503, 15)
            assert body["store"].startswith("unreachable") and body["bus"] == "ok", body
        await asyncio.sleep(0.5)  # any late ack would show up now
        assert not [k for k in refused_ids if k in shop.acks], "acked while the store was down"
        assert set(refused_ids) <= set(shop.pending)

        await asyncio.to_thread(own_postgres.start)
        for node in nodes:
            await node.wait_readyz(200, 30)
        await shop.resend_pending()
        await shop.wait_acked(refused_ids, 30)
        assert [shop.acks[k]["duplicate"] for k in refused_ids] == [False, False, False]
        after = await shop.send_message(cid, "after the outage")
        await shop.wait_acked([after])
        await asyncio.wait_for(asyncio.gather(*steady), 90)

        # The store has every acked message once; every follower applied all, in order.
        for client, conversation in zip([shop, *background], cids, strict=True):
            events = await cluster.stored_events(node_b, tenant.agents[0].token, conversation)
            client_ids = [e["message"]["client_id"] for e in events]
            assert len(client_ids) == len(set(client_ids)), f"duplicates in {client.name}'s"
            assert set(client_ids) == set(client.acks), client.name
            for client_id, ack in client.acks.items():
                stored = next(e for e in events if e["message"]["client_id"] == client_id)
                assert (stored["seq"], stored["message"]["id"]) == (ack["seq"], ack["message_id"])
            expected = [(e["seq"], e["message"]["id"]) for e in events]
            assert [e[0] for e in expected] == list(range(1, len(events) + 1))
            for follower in (client, agent):
                await follower.wait_seq(conversation, len(events), 20)
                got = [(f["seq"], f["message"]["id"]) for f in follower.applied[conversation]]
                assert got == expected, f"{follower.name} on {conversation}"
        assert len(shop.acks) == 5
        assert any(c.errors for c in background), "the outage hit the background traffic too"
        for client in clients:
            assert not client.gaps and not client.failures, client.name
            assert len(client.connections) == 1, f"{client.name} lost its connection"
            unexpected = [e for e in client.errors if e.get("code") != "store_unavailable"]
            assert not unexpected, (client.name, unexpected)
    finally:
        for client in clients:
            await client.close()
        if not own_postgres.running:
            await asyncio.to_thread(own_postgres.start)
