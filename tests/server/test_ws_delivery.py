"""The delivery guarantees over real WebSockets, on SQLite and PostgreSQL.

Ack after commit, no duplicate on resend, replay after reconnect with no gap and no
duplicate, one strict order under many concurrent senders, and gap repair when a bus
message is lost.
"""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import func, select

from server.auth import Principal
from server.chat import post_message
from server.runtime import Runtime
from server.store.models import Event
from tests.harness import RunningServer, TenantFixture, WsClient


async def stored_messages(server: RunningServer, conversation_id: str) -> list[Event]:
    async def query(runtime: Runtime) -> list[Event]:
        async with runtime.db.read() as session:
            rows = await session.scalars(
                select(Event)
                .where(Event.conversation_id == conversation_id, Event.type == "message")
                .order_by(Event.seq)
            )
            return list(rows)

    return await server.acall(query)


def message_seqs(frames: list[dict], conversation_id: str) -> list[int]:
    return [
        f["seq"]
        for f in frames
        if f["type"] == "message.new" and f["conversation_id"] == conversation_id
    ]


async def test_ack_comes_after_the_message_is_stored(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    ack = await ws.send_message(shopper.conversation_id, "  Where is my parcel?  ", "c-1")
    assert ack["type"] == "message.ack"
    stored = await stored_messages(server, shopper.conversation_id)
    assert [(e.id, e.seq, e.text, e.client_id) for e in stored] == [
        (ack["message_id"], ack["seq"], "Where is my parcel?", "c-1")
    ]
    await ws.close()


async def test_followers_get_message_new(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    agent = await WsClient.open(server, tenant.agent.token)
    tab_1 = await WsClient.open(server, shopper.token)
    tab_2 = await WsClient.open(server, shopper.token)
    ack = await tab_1.send_message(shopper.conversation_id, "hello", "c-1")

    for follower in (agent, tab_1, tab_2):
        frame = await follower.expect("message.new", conversation_id=shopper.conversation_id)
        assert frame["seq"] == ack["seq"]
        assert frame["message"]["id"] == ack["message_id"]
        assert frame["message"]["author"] == {
            "type": "visitor",
            "id": shopper.visitor_id,
            "name": "Visitor",
        }

    reply = await agent.send_message(shopper.conversation_id, "It ships today", "a-1")
    frame = await tab_2.expect("message.new", seq=reply["seq"])
    assert frame["message"]["author"]["type"] == "agent"
    assert frame["message"]["text"] == "It ships today"
    for ws in (agent, tab_1, tab_2):
        await ws.close()


async def test_resend_with_same_id_returns_first_ack_and_creates_nothing(
    server, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    agent = await WsClient.open(server, tenant.agent.token)
    ws = await WsClient.open(server, shopper.token)
    first = await ws.send_message(shopper.conversation_id, "once", "same-id")
    again = await ws.send_message(shopper.conversation_id, "once", "same-id")
    assert again["duplicate"] is True and first["duplicate"] is False
    assert (again["seq"], again["message_id"]) == (first["seq"], first["message_id"])

    # A resend after reconnecting (the client never saw the ack) is also deduped.
    await ws.close()
    ws = await WsClient.open(server, shopper.token)
    third = await ws.send_message(shopper.conversation_id, "once", "same-id")
    assert (third["seq"], third["message_id"]) == (first["seq"], first["message_id"])

    assert len(await stored_messages(server, shopper.conversation_id)) == 1
    await agent.quiet(0.3)
    assert message_seqs(agent.frames, shopper.conversation_id) == [first["seq"]]
    await ws.close()
    await agent.close()


async def test_reconnect_replays_exactly_what_was_missed(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    ws = await WsClient.open(server, shopper.token)
    agent = await WsClient.open(server, tenant.agent.token)
    for i in range(3):
        await ws.send_message(cid, f"before {i}", f"b{i}")
    await agent.expect("message.new", seq=3)
    await agent.close()

    for i in range(4):
        await ws.send_message(cid, f"while away {i}", f"w{i}")

    agent = await WsClient.open(server, tenant.agent.token, resume={cid: 3})
    synced = await agent.expect("synced")
    assert synced["conversations"] == {cid: 7}
    assert message_seqs(agent.frames, cid) == [4, 5, 6, 7]

    await ws.send_message(cid, "live again", "live")
    await agent.expect("message.new", seq=8)
    await agent.quiet(0.3)
    assert message_seqs(agent.frames, cid) == [4, 5, 6, 7, 8]

    # A client that lost everything resumes from 0 and gets the whole history once.
    fresh = await WsClient.open(server, shopper.token, resume={cid: 0})
    await fresh.expect("synced")
    assert message_seqs(fresh.frames, cid) == list(range(1, 9))
    for client in (ws, agent, fresh):
        await client.close()


async def test_resume_frame_replays_on_demand(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    ws = await WsClient.open(server, shopper.token)
    for i in range(5):
        await ws.send_message(cid, f"m{i}", f"m{i}")
    await ws.expect("message.new", seq=5)
    before = len(ws.frames)
    await ws.send({"type": "resume", "conversations": {cid: 2}})
    synced = await ws.expect("synced")
    assert synced["conversations"] == {cid: 5}
    assert message_seqs(ws.frames[before:], cid) == [3, 4, 5]
    await ws.close()


async def test_replay_longer_than_one_page(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    principal = Principal("visitor", shopper.visitor_id, tenant.id, "visitor", "Visitor")
    page = server.settings.replay_page_size
    total = page * 2 + 7

    async def fill(runtime: Runtime) -> None:
        for i in range(total):
            await post_message(
                runtime.db, principal, shopper.conversation_id, f"bulk-{i}", f"bulk {i}", 100
            )

    await server.acall(fill)
    ws = await WsClient.open(server, tenant.agent.token, resume={shopper.conversation_id: 0})
    await ws.expect("synced", timeout=30)
    assert message_seqs(ws.frames, shopper.conversation_id) == list(range(1, total + 1))
    await ws.close()


async def test_lost_bus_message_is_repaired_from_the_store(server, tenant: TenantFixture) -> None:
    """A message committed but never published (a lost doorbell) arrives before the next."""
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    agent = await WsClient.open(server, tenant.agent.token, resume={cid: 0})
    await agent.expect("synced")
    ws = await WsClient.open(server, shopper.token)
    await ws.send_message(cid, "first", "c1")
    await agent.expect("message.new", seq=1)

    principal = Principal("visitor", shopper.visitor_id, tenant.id, "visitor", "Visitor")
    await server.acall(lambda rt: post_message(rt.db, principal, cid, "silent", "lost", 100))
    await ws.send_message(cid, "third", "c3")
    await agent.expect("message.new", seq=3)
    assert message_seqs(agent.frames, cid) == [1, 2, 3]
    texts = [f["message"]["text"] for f in agent.frames if f["type"] == "message.new"]
    assert texts == ["first", "lost", "third"]
    await ws.close()
    await agent.close()


async def test_concurrent_senders_share_one_strict_order(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    second_agent = await tenant.add_agent("Chen Jing")
    watcher = await WsClient.open(server, tenant.admin.token, resume={cid: 0})
    await watcher.expect("synced")
    senders = [
        await WsClient.open(server, token)
        for token in (shopper.token, shopper.token, tenant.agent.token, second_agent.token)
    ]
    per_sender = 25

    async def burst(index: int, ws: WsClient) -> list[int]:
        frames = [
            {
                "type": "message.send",
                "id": f"s{index}-{n}",
                "conversation_id": cid,
                "text": f"sender {index} #{n}",
            }
            for n in range(per_sender)
        ]
        for frame in frames:
            await ws.send(frame)
        acks: dict[str, int] = {}
        while len(acks) < per_sender:
            frame = await ws.recv(timeout=30)
            if frame["type"] == "message.ack":
                acks[frame["id"]] = frame["seq"]
            assert frame["type"] != "error", frame
        return [acks[f"s{index}-{n}"] for n in range(per_sender)]

    results = await asyncio.gather(*(burst(i, ws) for i, ws in enumerate(senders)))
    total = per_sender * len(senders)
    all_seqs = sorted(itertools.chain.from_iterable(results))
    assert all_seqs == list(range(1, total + 1))
    for seqs in results:  # one sender's messages keep the order it sent them in
        assert seqs == sorted(seqs)

    for follower in (watcher, *senders):
        await follower.seen("message.new", seq=total, timeout=30)
        await follower.quiet(0.3)
        assert message_seqs(follower.frames, cid) == list(range(1, total + 1))
    for ws in (watcher, *senders):
        await ws.close()
    stored = await stored_messages(server, cid)
    assert [e.seq for e in stored] == list(range(1, total + 1))


async def test_store_counts_one_row_per_client_id_under_racing_resends(
    server, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    tabs = [await WsClient.open(server, shopper.token) for _ in range(3)]
    acks = await asyncio.gather(
        *(tab.send_message(shopper.conversation_id, "race", "one-id") for tab in tabs)
    )
    assert len({(a["seq"], a["message_id"]) for a in acks}) == 1
    assert sorted(a["duplicate"] for a in acks) == [False, True, True]

    async def count(runtime: Runtime) -> int:
        async with runtime.db.read() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(Event.conversation_id == shopper.conversation_id)
                )
                or 0
            )

    assert await server.acall(count) == 1
    for tab in tabs:
        await tab.close()
