"""Conversations over REST: inbox, unread counts, filters, history pages, and changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import update

from server.runtime import Runtime
from server.store.models import Conversation
from tests.harness import RunningServer, Shopper, TenantFixture, WsClient


async def open_live(server: RunningServer, token: str) -> WsClient:
    """A WebSocket client that is following its channels: `synced` comes after the server
    subscribed the connection, so live events published after it cannot be missed."""
    ws = await WsClient.open(server, token)
    await ws.expect("synced")
    return ws


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def say(server: RunningServer, shopper: Shopper, *texts: str) -> list[int]:
    """Send messages as the shopper over a real WebSocket; returns their seqs."""
    assert shopper.conversation_id is not None
    ws = await WsClient.open(server, shopper.token)
    seqs = []
    try:
        for n, text in enumerate(texts):
            ack = await ws.send_message(shopper.conversation_id, text, f"{text}-{n}")
            assert ack["type"] == "message.ack", ack
            seqs.append(ack["seq"])
    finally:
        await ws.close()
    return seqs


async def inbox(
    http: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> list[dict[str, Any]]:
    response = await http.get("/api/v1/conversations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["conversations"]
    return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def test_inbox_newest_first_only_with_messages_and_unread_per_agent(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = await tenant.shopper(name="First")
    second = await tenant.shopper(name="Second")
    silent = await tenant.shopper(name="Silent")
    await say(server, first, "hello", "anyone?")
    await say(server, second, "hi")

    items = await inbox(http, tenant.agent.headers)
    assert ids(items) == [second.conversation_id, first.conversation_id]
    assert silent.conversation_id not in ids(items)
    by_id = {item["id"]: item for item in items}
    assert by_id[first.conversation_id]["unread"] == 2
    assert by_id[second.conversation_id]["unread"] == 1
    assert by_id[first.conversation_id]["last_message_preview"] == "anyone?"
    assert by_id[first.conversation_id]["visitor"]["name"] == "First"
    assert by_id[first.conversation_id]["last_seq"] == 2

    # The agent reads the first conversation up to seq 1, then all of it.
    agent_ws = await open_live(server, tenant.agent.token)
    await agent_ws.send({"type": "read", "conversation_id": first.conversation_id, "seq": 1})
    read = await agent_ws.expect("read", conversation_id=first.conversation_id)
    assert read["seq"] == 1
    by_id = {item["id"]: item for item in await inbox(http, tenant.agent.headers)}
    assert by_id[first.conversation_id]["unread"] == 1
    # A cursor past the head stops at the head; it never moves back.
    await agent_ws.send({"type": "read", "conversation_id": first.conversation_id, "seq": 99})
    assert (await agent_ws.expect("read", conversation_id=first.conversation_id))["seq"] == 2
    await agent_ws.send({"type": "read", "conversation_id": first.conversation_id, "seq": 0})
    assert (await agent_ws.expect("read", conversation_id=first.conversation_id))["seq"] == 2
    by_id = {item["id"]: item for item in await inbox(http, tenant.agent.headers)}
    assert by_id[first.conversation_id]["unread"] == 0
    assert by_id[second.conversation_id]["unread"] == 1
    # Unread is per agent: the admin has read nothing.
    admin_view = {item["id"]: item for item in await inbox(http, tenant.admin.headers)}
    assert admin_view[first.conversation_id]["unread"] == 2

    # The agent's reply is unread for the shopper, not for the agent.
    ack = await agent_ws.send_message(first.conversation_id, "yes, how can I help?", "r1")
    assert ack["type"] == "message.ack"
    await agent_ws.close()
    shopper_view = await inbox(http, first.headers)
    assert ids(shopper_view) == [first.conversation_id]
    assert shopper_view[0]["unread"] == 1
    by_id = {item["id"]: item for item in await inbox(http, tenant.agent.headers)}
    assert by_id[first.conversation_id]["unread"] == 0

    # New activity moves a conversation to the top.
    await say(server, second, "still there?")
    await say(server, first, "thanks")
    assert ids(await inbox(http, tenant.agent.headers)) == [
        first.conversation_id,
        second.conversation_id,
    ]


async def test_inbox_filters_by_status_and_assignee(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    mine, admins, free, done = [await tenant.shopper() for _ in range(4)]
    for shopper in (mine, admins, free, done):
        await say(server, shopper, "help")
    agent, admin = tenant.agent.headers, tenant.admin.headers

    async def post(conversation: str | None, action: str, **body: Any) -> None:
        response = await http.post(
            f"/api/v1/conversations/{conversation}/{action}", json=body or None, headers=agent
        )
        assert response.status_code == 200, response.text

    await post(mine.conversation_id, "assign", agent_id=tenant.agent.id)
    await post(admins.conversation_id, "assign", agent_id=tenant.admin.id)
    await post(done.conversation_id, "close")

    everyone = {mine.conversation_id, admins.conversation_id, free.conversation_id}
    assert set(ids(await inbox(http, agent, status="open"))) == everyone
    assert ids(await inbox(http, agent, status="closed")) == [done.conversation_id]
    assert set(ids(await inbox(http, agent))) == everyone | {done.conversation_id}
    assert ids(await inbox(http, agent, assignee="me")) == [mine.conversation_id]
    assert ids(await inbox(http, admin, assignee="me")) == [admins.conversation_id]
    assert set(ids(await inbox(http, agent, assignee="unassigned"))) == {
        free.conversation_id,
        done.conversation_id,
    }
    assert ids(await inbox(http, agent, assignee="unassigned", status="open")) == [
        free.conversation_id
    ]
    assert ids(await inbox(http, agent, assignee=tenant.admin.id)) == [admins.conversation_id]
    assert ids(await inbox(http, agent, assignee="no-such-agent")) == []

    bad = await http.get("/api/v1/conversations", params={"status": "pending"}, headers=agent)
    assert bad.status_code == 400
    assert error_code(bad) == "invalid_status"
    bad_limit = await http.get("/api/v1/conversations", params={"limit": 0}, headers=agent)
    assert bad_limit.status_code == 422
    assert error_code(bad_limit) == "invalid_request"


async def test_inbox_pages_by_last_activity(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shoppers = [await tenant.shopper() for _ in range(3)]
    for shopper in shoppers:
        await say(server, shopper, "hello")
    newest_first = [s.conversation_id for s in reversed(shoppers)]
    page1 = await inbox(http, tenant.agent.headers, limit="2")
    assert ids(page1) == newest_first[:2]
    page2 = await inbox(http, tenant.agent.headers, before=page1[-1]["last_activity_at"])
    assert ids(page2) == newest_first[2:]
    # A cursor without a zone is read as UTC (not a server error).
    naive = page1[-1]["last_activity_at"].removesuffix("Z")
    page2_naive = await inbox(http, tenant.agent.headers, before=naive)
    assert ids(page2_naive) == newest_first[2:]


async def test_inbox_cursor_neither_skips_nor_repeats_equal_activity_times(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shoppers = [await tenant.shopper() for _ in range(5)]
    for shopper in shoppers:
        await say(server, shopper, "hello")
    same = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    cids = [s.conversation_id for s in shoppers]

    async def same_time(runtime: Runtime) -> None:
        async with runtime.db.write() as session:
            await session.execute(
                update(Conversation).where(Conversation.id.in_(cids)).values(last_activity_at=same)
            )

    await server.acall(same_time)
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    for _ in range(5):
        response = await http.get(
            "/api/v1/conversations", params=params, headers=tenant.agent.headers
        )
        assert response.status_code == 200, response.text
        seen += ids(response.json()["conversations"])
        cursor = response.json()["next"]
        if cursor is None:
            break
        params = {"limit": "2", **cursor}
    assert sorted(seen) == sorted(cids) and len(seen) == len(set(seen)) == 5
    assert seen == sorted(cids)  # ties in id order


async def test_history_pages_by_seq(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    await say(server, shopper, "m1", "m2", "m3")
    assign = await http.post(
        f"/api/v1/conversations/{shopper.conversation_id}/assign",
        json={"agent_id": tenant.agent.id},
        headers=tenant.agent.headers,
    )
    assert assign.status_code == 200
    await say(server, shopper, "m5", "m6")
    url = f"/api/v1/conversations/{shopper.conversation_id}"
    headers = tenant.agent.headers

    async def page(path: str, **params: int) -> dict[str, Any]:
        response = await http.get(url + path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def seqs(body: dict[str, Any]) -> list[int]:
        return [event["seq"] for event in body["events"]]

    newest = await page("/events", limit=2)
    assert seqs(newest) == [5, 6]
    assert newest["has_more"] is True
    assert newest["last_seq"] == 6
    older = await page("/events", before_seq=5, limit=2)
    assert seqs(older) == [3, 4]
    assert older["has_more"] is True
    oldest = await page("/events", before_seq=3, limit=5)
    assert seqs(oldest) == [1, 2]
    assert oldest["has_more"] is False
    forward = await page("/events", after_seq=0, limit=4)
    assert seqs(forward) == [1, 2, 3, 4]
    assert forward["has_more"] is True
    rest = await page("/events", after_seq=4, limit=2)
    assert seqs(rest) == [5, 6]
    assert rest["has_more"] is False
    assert seqs(await page("/events", after_seq=6)) == []
    everything = await page("/events")
    assert seqs(everything) == [1, 2, 3, 4, 5, 6]
    assert everything["has_more"] is False
    update = everything["events"][3]
    assert update["type"] == "conversation.updated"
    assert update["assignee_id"] == tenant.agent.id
    assert everything["events"][0]["message"]["text"] == "m1"
    assert everything["events"][0]["message"]["author"]["id"] == shopper.visitor_id

    messages = await page("/messages")
    assert [e["type"] for e in messages["events"]] == ["message.new"] * 5
    assert [e["message"]["text"] for e in messages["events"]] == ["m1", "m2", "m3", "m5", "m6"]
    last_two = await page("/messages", limit=2)
    assert seqs(last_two) == [5, 6]
    assert last_two["has_more"] is True
    before_update = await page("/messages", before_seq=5, limit=3)
    assert seqs(before_update) == [1, 2, 3]
    assert before_update["has_more"] is False

    both = await http.get(
        url + "/events", params={"before_seq": 5, "after_seq": 1}, headers=headers
    )
    assert both.status_code == 400
    assert error_code(both) == "invalid_request"
    for params in ({"limit": 0}, {"limit": 10_000}, {"before_seq": 0}, {"after_seq": -1}):
        response = await http.get(url + "/events", params=params, headers=headers)
        assert response.status_code == 422, params
        assert error_code(response) == "invalid_request"

    detail = await http.get(url, headers=headers)
    assert detail.status_code == 200
    assert detail.json()["id"] == shopper.conversation_id
    assert detail.json()["assignee"] == {"id": tenant.agent.id, "name": tenant.agent.name}
    missing = await http.get("/api/v1/conversations/nope", headers=headers)
    assert missing.status_code == 404
    assert error_code(missing) == "conversation_not_found"


async def test_every_change_is_an_event_with_a_seq_seen_live_and_in_history(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    await say(server, shopper, "hello")
    cid = shopper.conversation_id
    helper = await tenant.add_agent("Helper")
    shopper_ws = await open_live(server, shopper.token)
    agent_ws = await open_live(server, tenant.agent.token)
    headers = tenant.agent.headers

    steps: list[tuple[str, dict[str, Any] | None, dict[str, Any]]] = [
        ("assign", {"agent_id": tenant.agent.id}, {"assignee_id": tenant.agent.id}),
        ("assign", {"agent_id": tenant.admin.id}, {"assignee_id": tenant.admin.id}),
        ("assign", {"agent_id": None}, {"assignee_id": None}),
        (
            "transfer",
            {"agent_id": helper.id, "note": "speaks German"},
            {"assignee_id": helper.id, "note": "speaks German", "change": "transferred"},
        ),
        ("close", None, {"status": "closed", "change": "closed"}),
        ("reopen", None, {"status": "open", "change": "reopened"}),
    ]
    expected_seq = 1
    assignee: str | None = None
    for action, body, fields in steps:
        expected_seq += 1
        response = await http.post(
            f"/api/v1/conversations/{cid}/{action}", json=body, headers=headers
        )
        assert response.status_code == 200, (action, response.text)
        summary = response.json()
        assert summary["last_seq"] == expected_seq
        assignee = fields.get("assignee_id", assignee)
        assert (summary["assignee"] or {}).get("id") == assignee
        assert summary["status"] == fields.get("status", "open")
        history = await http.get(
            f"/api/v1/conversations/{cid}/events",
            params={"after_seq": expected_seq - 1},
            headers=headers,
        )
        [event] = history.json()["events"]
        assert event["type"] == "conversation.updated"
        assert event["seq"] == expected_seq
        assert event["by"]["id"] == tenant.agent.id
        for key, value in fields.items():
            assert event[key] == value, (action, key, event)
        for ws in (shopper_ws, agent_ws):
            live = await ws.expect("conversation.updated", conversation_id=cid, seq=expected_seq)
            for key, value in fields.items():
                assert live[key] == value, (action, key, live)

    final = await http.get(f"/api/v1/conversations/{cid}", headers=headers)
    assert final.json()["status"] == "open"
    assert final.json()["assignee"]["id"] == helper.id
    await shopper_ws.close()
    await agent_ws.close()


async def test_assignment_that_changes_nothing_appends_nothing(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    await say(server, shopper, "hi")
    url = f"/api/v1/conversations/{shopper.conversation_id}"
    for _ in range(2):
        response = await http.post(
            url + "/assign", json={"agent_id": tenant.agent.id}, headers=tenant.agent.headers
        )
        assert response.status_code == 200
    assert response.json()["last_seq"] == 2
    unassign_twice = [
        await http.post(url + "/assign", json={"agent_id": None}, headers=tenant.agent.headers)
        for _ in range(2)
    ]
    assert [r.json()["last_seq"] for r in unassign_twice] == [3, 3]


async def test_refused_changes(
    server: RunningServer,
    http: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    shopper = await tenant.shopper()
    await say(server, shopper, "hi")
    url = f"/api/v1/conversations/{shopper.conversation_id}"
    headers = tenant.agent.headers

    assert (await http.post(url + "/close", headers=headers)).status_code == 200
    again = await http.post(url + "/close", headers=headers)
    assert again.status_code == 409
    assert error_code(again) == "already_closed"
    assert (await http.post(url + "/reopen", headers=headers)).status_code == 200
    reopen_again = await http.post(url + "/reopen", headers=headers)
    assert reopen_again.status_code == 409
    assert error_code(reopen_again) == "already_open"

    for agent_id in (other_tenant.agent.id, other_tenant.admin.id, "no-such-agent"):
        for action in ("assign", "transfer"):
            response = await http.post(
                url + f"/{action}", json={"agent_id": agent_id}, headers=headers
            )
            assert response.status_code == 404, (action, response.text)
            assert error_code(response) == "agent_not_found"

    inactive = await tenant.add_agent("Gone Soon")
    off = await http.patch(
        f"/api/v1/agents/{inactive.id}", json={"active": False}, headers=tenant.admin.headers
    )
    assert off.status_code == 200
    response = await http.post(url + "/assign", json={"agent_id": inactive.id}, headers=headers)
    assert response.status_code == 404
    assert error_code(response) == "agent_not_found"

    no_target = await http.post(url + "/transfer", json={"note": "x"}, headers=headers)
    assert no_target.status_code == 422

    after = await http.get(url + "/events", headers=headers)
    assert [e.get("change") for e in after.json()["events"][1:]] == ["closed", "reopened"]
    detail = await http.get(url, headers=headers)
    assert detail.json()["assignee"] is None


async def test_shopper_sees_only_their_own_and_changes_nothing(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    me = await tenant.shopper(name="Me")
    other = await tenant.shopper(name="Other")
    await say(server, me, "mine")
    await say(server, other, "not yours")

    listed = await inbox(http, me.headers)
    assert ids(listed) == [me.conversation_id]
    own = await http.get(f"/api/v1/conversations/{me.conversation_id}", headers=me.headers)
    assert own.status_code == 200
    for path in ("", "/events", "/messages"):
        response = await http.get(
            f"/api/v1/conversations/{other.conversation_id}{path}", headers=me.headers
        )
        assert response.status_code == 404, (path, response.text)
        assert error_code(response) == "conversation_not_found"
        assert "not yours" not in response.text

    for conversation in (me.conversation_id, other.conversation_id):
        for action, body in (
            ("assign", {"agent_id": tenant.agent.id}),
            ("transfer", {"agent_id": tenant.agent.id}),
            ("close", None),
            ("reopen", None),
        ):
            response = await http.post(
                f"/api/v1/conversations/{conversation}/{action}", json=body, headers=me.headers
            )
            assert response.status_code == 403, (action, response.text)
            assert error_code(response) == "agent_required"
    detail = await http.get(
        f"/api/v1/conversations/{me.conversation_id}", headers=tenant.agent.headers
    )
    assert detail.json()["assignee"] is None
    assert detail.json()["status"] == "open"
    assert detail.json()["last_seq"] == 1
