"""Helpers for routing tests: tenants with routing on, agents' profiles, shoppers who write,
a settable clock, and the demo schedule as REST bodies."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from server.scheduling.demo import demo_schedule
from tests.harness import AgentLogin, RunningServer, Shopper, TenantFixture, WsClient, new_tenant


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class FakeClock:
    """An instant that starts where a test says and then runs with real time."""

    def __init__(self, start: datetime) -> None:
        self.jump(start)

    def jump(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


def set_clock(server: RunningServer, start: datetime) -> FakeClock:
    clock = FakeClock(start)
    server.app.state.routing.clock = clock
    return clock


async def routed_tenant(
    server: RunningServer, http: httpx.AsyncClient, name: str = "Shop", **policy: Any
) -> TenantFixture:
    """A fresh tenant with routing on (its admin and agent have no schedule yet)."""
    tenant = await new_tenant(server, http, name)
    response = await http.put(
        "/api/v1/routing", json={"enabled": True, **policy}, headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text
    return tenant


async def profile(tenant: TenantFixture, agent: AgentLogin, **body: Any) -> dict[str, Any]:
    """PUT the agent's schedule/profile as the tenant's admin."""
    response = await tenant.http.put(
        f"/api/v1/agents/{agent.id}/schedule", json=body, headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def demo_profile(email: str) -> dict[str, Any]:
    """The demo agent's profile (by e-mail) as a PUT schedule body."""
    agent = next(a for a in demo_schedule().agents if a.agent_id == email)
    return {
        "timezone": agent.schedule.tz,
        "languages": list(agent.languages),
        "markets": list(agent.markets),
        "max_chats": agent.max_chats,
        "schedule": agent.schedule.to_dict(),
    }


LI_WEI = "li.wei@demo.kefu.test"
CHEN_JING = "chen.jing@demo.kefu.test"


async def demo_markets(tenant: TenantFixture) -> None:
    for market in demo_schedule().markets:
        response = await tenant.http.post(
            "/api/v1/markets", json=market.to_dict(), headers=tenant.admin.headers
        )
        assert response.status_code == 201, response.text


async def online(server: RunningServer, agent: AgentLogin) -> WsClient:
    """The agent's console connection, following the tenant live."""
    ws = await WsClient.open(server, agent.token)
    await ws.expect("synced")
    return ws


async def shopper_writes(
    server: RunningServer, tenant: TenantFixture, text: str = "Hello?", **session: Any
) -> tuple[Shopper, WsClient]:
    """A new shopper (widget session fields in `session`) who opens the chat and writes."""
    shopper = await tenant.shopper(**session)
    assert shopper.conversation_id is not None
    ws = await WsClient.open(server, shopper.token)
    await ws.expect("synced")
    ack = await ws.send_message(shopper.conversation_id, text, f"first-{shopper.visitor_id}")
    assert ack["type"] == "message.ack", ack
    return shopper, ws


async def wait_for(
    ws: WsClient,
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
    since: int = 0,
) -> dict[str, Any]:
    """The first frame from index `since` of `ws.frames` on (received already or within
    `timeout`) that `predicate` accepts."""
    deadline = time.monotonic() + timeout
    index = since
    while True:
        while index < len(ws.frames):
            if predicate(ws.frames[index]):
                return ws.frames[index]
            index += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no matching frame within {timeout}s; got {ws.frames[-5:]}")
        ws._cursor = len(ws.frames)
        try:
            await ws.recv(remaining)
        except TimeoutError:
            continue


async def assignment(
    ws: WsClient, conversation_id: str, timeout: float = 10, since: int = 0
) -> dict[str, Any]:
    """The `conversation.updated` that assigned this conversation to someone."""
    return await wait_for(
        ws,
        lambda f: (
            f.get("type") == "conversation.updated"
            and f.get("conversation_id") == conversation_id
            and f.get("change") in ("assigned", "transferred")
            and bool(f.get("assignee_id"))
        ),
        timeout,
        since,
    )


async def queue_status(
    ws: WsClient,
    conversation_id: str,
    position: int | None = None,
    timeout: float = 10,
    since: int = 0,
) -> dict[str, Any]:
    """A `queue.status` for the conversation (at `position`, if given)."""
    return await wait_for(
        ws,
        lambda f: (
            f.get("type") == "queue.status"
            and f.get("conversation_id") == conversation_id
            and (position is None or f.get("position") == position)
        ),
        timeout,
        since,
    )


async def events(tenant: TenantFixture, conversation_id: str) -> list[dict[str, Any]]:
    response = await tenant.http.get(
        f"/api/v1/conversations/{conversation_id}/events",
        params={"limit": 200},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def system_messages(found: list[dict[str, Any]]) -> list[str]:
    return [
        e["message"]["text"]
        for e in found
        if e["type"] == "message.new" and e["message"]["author"]["type"] == "system"
    ]


async def summary(tenant: TenantFixture, conversation_id: str) -> dict[str, Any]:
    response = await tenant.http.get(
        f"/api/v1/conversations/{conversation_id}", headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def queue(tenant: TenantFixture) -> dict[str, Any]:
    response = await tenant.http.get("/api/v1/queue", headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def close_all(*clients: WsClient) -> None:
    for client in clients:
        await client.close()


async def system_reply(
    ws: WsClient, conversation_id: str, timeout: float = 10, since: int = 0
) -> dict[str, Any]:
    """The next `message.new` in the conversation written by the system (the auto-reply)."""
    frame = await wait_for(
        ws,
        lambda f: (
            f.get("type") == "message.new"
            and f.get("conversation_id") == conversation_id
            and f["message"]["author"]["type"] == "system"
        ),
        timeout,
        since,
    )
    message: dict[str, Any] = frame["message"]
    return message
