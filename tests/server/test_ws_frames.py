"""Every kind of bad frame gets its stable code; ephemeral frames reach the right people."""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import ConnectionClosed

from server.auth import Principal
from tests.harness import TenantFixture, WsClient


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"no": "type"}', "invalid_frame"),
        ('{"type": 7}', "invalid_frame"),
        ('{"type": "message.delete"}', "unknown_type"),
        ('{"type": "message.send", "id": "x"}', "invalid_frame"),
        (
            '{"type": "message.send", "id": "", "conversation_id": "c", "text": "t"}',
            "invalid_frame",
        ),
        ('{"type": "message.send", "id": "x", "conversation_id": "c", "text": 5}', "invalid_frame"),
        ('{"type": "ping", "extra": true}', "invalid_frame"),
        ('{"type": "read", "conversation_id": "c", "seq": -1}', "invalid_frame"),
        ('{"type": "hello", "token": "t"}', "already_authenticated"),
    ],
)
async def test_bad_frames_get_codes_and_the_connection_stays(
    server, tenant: TenantFixture, raw: str, code: str
) -> None:
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    await ws.send(raw)
    error = await ws.expect("error")
    assert error["code"] == code
    if '"id": "x"' in raw:
        assert error["id"] == "x"
    ack = await ws.send_message(shopper.conversation_id, "still here", "after")
    assert ack["type"] == "message.ack"
    await ws.close()


async def test_message_text_limits(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    limit = server.settings.max_text_chars
    empty = await ws.send_message(shopper.conversation_id, "   \n ", "e")
    assert (empty["type"], empty["code"]) == ("error", "text_empty")
    long = await ws.send_message(shopper.conversation_id, "y" * (limit + 1), "l")
    assert (long["type"], long["code"]) == ("error", "text_too_long")
    exact = await ws.send_message(shopper.conversation_id, "字" * limit, "ok")
    assert exact["type"] == "message.ack"
    await ws.close()


async def test_oversized_frame_is_refused_but_connection_stays(
    server, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    big = json.dumps(
        {"type": "ping", "id": "big", "pad": "z" * (server.settings.max_frame_bytes + 10)}
    )
    await ws.send(big)
    error = await ws.expect("error")
    assert error["code"] == "frame_too_large"
    await ws.send({"type": "ping", "id": "p"})
    assert (await ws.expect("pong"))["id"] == "p"
    await ws.close()


async def test_binary_frame_is_refused(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    await ws.connection.send(b"\x00\x01")
    assert (await ws.expect("error"))["code"] == "invalid_frame"
    await ws.close()


async def test_someone_elses_conversation_is_not_found(server, tenant: TenantFixture) -> None:
    alice = await tenant.shopper()
    bob = await tenant.shopper()
    ws = await WsClient.open(server, bob.token, resume={alice.conversation_id: 0})
    error = await ws.expect("error")
    assert error["code"] == "conversation_not_found"
    synced = await ws.expect("synced")
    assert synced["conversations"] == {}
    for frame in (
        {"type": "message.send", "id": "m", "conversation_id": alice.conversation_id, "text": "x"},
        {"type": "typing", "conversation_id": alice.conversation_id},
        {"type": "read", "conversation_id": alice.conversation_id, "seq": 1},
        {"type": "message.send", "id": "n", "conversation_id": "no-such-id", "text": "x"},
    ):
        await ws.send(frame)
        assert (await ws.expect("error"))["code"] == "conversation_not_found"
    await ws.close()


async def test_first_frame_must_be_a_valid_hello(server, tenant: TenantFixture) -> None:
    for first, code in (
        ({"type": "ping"}, "not_authenticated"),
        ({"type": "hello", "token": "garbage"}, "invalid_token"),
        ("{", "invalid_json"),
    ):
        ws = await WsClient.open(server)
        await ws.send(first)
        assert (await ws.expect("error"))["code"] == code
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003


async def test_expired_token_is_refused(server, tenant: TenantFixture) -> None:
    principal = Principal("agent", tenant.agent.id, tenant.id, "agent", "Li Wei")
    token = server.runtime.signer.issue(principal, ttl_seconds=-10)
    ws = await WsClient.open(server)
    await ws.send({"type": "hello", "token": token})
    assert (await ws.expect("error"))["code"] == "token_expired"
    with pytest.raises(ConnectionClosed):
        await ws.recv()


async def test_ping_pong(server, tenant: TenantFixture) -> None:
    ws = await WsClient.open(server, tenant.agent.token)
    await ws.send({"type": "ping", "id": "p1"})
    pong = await ws.expect("pong")
    assert pong["id"] == "p1" and pong["server_time"].endswith("Z")
    await ws.close()


async def test_typing_reaches_the_other_side_only(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    agent = await WsClient.open(server, tenant.agent.token)
    tab = await WsClient.open(server, shopper.token)
    other_tab = await WsClient.open(server, shopper.token)

    await tab.send({"type": "typing", "conversation_id": cid})
    typing = await agent.expect("typing")
    assert typing["author"]["id"] == shopper.visitor_id and typing["state"] is True
    await agent.send({"type": "typing", "conversation_id": cid, "state": True})
    got = await other_tab.expect("typing")
    assert got["author"] == {"type": "agent", "id": tenant.agent.id, "name": "Li Wei"}
    # A shopper's typing is for agents only; nobody gets their own typing back.
    for client in (tab, other_tab, agent):
        await client.quiet(0.3)
    assert [f for f in other_tab.frames if f["type"] == "typing"] == [got]
    assert not [
        f for f in agent.frames if f["type"] == "typing" and f["author"]["id"] == tenant.agent.id
    ]
    for client in (agent, tab, other_tab):
        await client.close()


async def test_read_moves_cursor_and_is_announced(server, tenant: TenantFixture, http) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    tab = await WsClient.open(server, shopper.token)
    for i in range(3):
        await tab.send_message(cid, f"q{i}", f"q{i}")
    agent = await WsClient.open(server, tenant.agent.token)

    async def unread() -> int:
        response = await http.get(f"/api/v1/conversations/{cid}", headers=tenant.agent.headers)
        return int(response.json()["unread"])

    assert await unread() == 3
    await agent.send({"type": "read", "conversation_id": cid, "seq": 2})
    read = await tab.expect("read")
    assert read["seq"] == 2 and read["reader"]["id"] == tenant.agent.id
    assert await unread() == 1
    await agent.send({"type": "read", "conversation_id": cid, "seq": 1})  # never moves back
    assert (await tab.expect("read"))["seq"] == 2
    await agent.send({"type": "read", "conversation_id": cid, "seq": 999})  # clamped to head
    assert (await tab.expect("read"))["seq"] == 3
    assert await unread() == 0
    await tab.close()
    await agent.close()


async def test_agent_presence_is_announced(server, tenant: TenantFixture, http) -> None:
    watcher = await WsClient.open(server, tenant.admin.token)
    agent = await WsClient.open(server, tenant.agent.token)
    online = await watcher.expect("presence", agent_id=tenant.agent.id)
    assert online["online"] is True and online["connected"] is True
    listed = await http.get("/api/v1/agents", headers=tenant.admin.headers)
    entry = next(a for a in listed.json()["agents"] if a["id"] == tenant.agent.id)
    assert entry["connected"] is True
    await agent.close()
    offline = await watcher.expect("presence", agent_id=tenant.agent.id)
    assert offline["online"] is False and offline["connected"] is False
    await watcher.close()


async def test_conversation_changes_are_events_with_seq(
    server, tenant: TenantFixture, http
) -> None:
    shopper = await tenant.shopper()
    cid = shopper.conversation_id
    tab = await WsClient.open(server, shopper.token)
    await tab.send_message(cid, "help", "h")
    response = await http.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"agent_id": tenant.agent.id},
        headers=tenant.agent.headers,
    )
    assert response.status_code == 200
    assigned = await tab.expect("conversation.updated")
    assert (assigned["seq"], assigned["change"], assigned["assignee_id"]) == (
        2,
        "assigned",
        tenant.agent.id,
    )
    await http.post(f"/api/v1/conversations/{cid}/close", headers=tenant.agent.headers)
    closed = await tab.expect("conversation.updated", seq=3)
    assert closed["status"] == "closed"
    # A shopper writing into a closed conversation reopens it, in order.
    await tab.send_message(cid, "one more thing", "again")
    reopened = await tab.expect("conversation.updated", seq=4)
    assert reopened["change"] == "reopened" and reopened["status"] == "open"
    assert (await tab.expect("message.new"))["seq"] == 5
    await tab.close()
