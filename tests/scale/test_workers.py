"""`kefu serve --workers 2`: two processes on one port, sharing PostgreSQL and Redis.

Both workers answer (two process ids behind /healthz), and shoppers and agents whose
connections the kernel spreads over the workers talk as on one server.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.scale.client import ResumingClient
from tests.scale.cluster import Cluster

PAIRS = 4


async def _worker_pids(base_url: str, within: float = 60.0) -> set[int]:
    """Process ids answering /healthz, each request on a new connection, until two answer
    (the second worker may still be starting when the first is ready) or `within` s."""
    pids: set[int] = set()
    deadline = time.monotonic() + within
    while len(pids) < 2 and time.monotonic() < deadline:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
            pids.add((await http.get("/healthz")).json()["pid"])
        await asyncio.sleep(0.02)
    return pids


async def test_two_workers_on_one_port_serve_as_one(cluster: Cluster) -> None:
    tenant = await cluster.create_tenant("Workers", agents=1)
    (node,) = await cluster.start_nodes(1, args=("--workers", "2"))
    assert len(await _worker_pids(node.base_url)) == 2, "two worker processes answer"

    await cluster.login_agents(tenant, node)
    shoppers = [await cluster.shopper(tenant, node) for _ in range(PAIRS)]
    cids = [s.conversation_id for s in shoppers]
    urls = [node.ws_url]
    # One agent connection per conversation: several connections, spread over the workers.
    agent_token = tenant.agents[0].token
    desks = [ResumingClient(f"desk{i}", agent_token, urls, [cid]) for i, cid in enumerate(cids)]
    shops = [
        ResumingClient(f"shop{i}", s.token, urls, [s.conversation_id])
        for i, s in enumerate(shoppers)
    ]
    clients = desks + shops
    try:
        for client in clients:
            await client.connect(0)
        for i, (shop, desk, cid) in enumerate(zip(shops, desks, cids, strict=True)):
            asked = await shop.send_message(cid, f"question {i}")
            await shop.wait_acked([asked])
            await desk.wait_seq(cid, 1)
            answered = await desk.send_message(cid, f"answer {i}")
            await desk.wait_acked([answered])
            await shop.wait_seq(cid, 2)
            assert shop.texts(cid) == desk.texts(cid) == [f"question {i}", f"answer {i}"]
        for client in clients:
            assert not client.gaps and not client.errors and not client.failures, client.name
    finally:
        for client in clients:
            await client.close()
