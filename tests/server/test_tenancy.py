"""No token of one tenant reads or changes anything of another: every REST route, every frame.

The REST table below has one entry per route under /api/v1, found by walking the app's
routes, so a route added later without a cross-tenant case here fails
`test_every_api_route_has_a_cross_tenant_case`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from tests.harness import RunningServer, Shopper, TenantFixture, WsClient

API_PREFIX = "/api/v1"


async def open_live(server: RunningServer, token: str) -> WsClient:
    """A WebSocket client that is following its channels: `synced` comes after the server
    subscribed the connection, so live events published after it cannot be missed."""
    ws = await WsClient.open(server, token)
    await ws.expect("synced")
    return ws


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every (method, path) under /api/v1, including routes of included routers."""
    try:  # FastAPI >= 0.16x keeps included routers nested; this walks them.
        from fastapi.routing import iter_route_contexts

        routes: Any = list(iter_route_contexts(app.routes))
    except ImportError:  # older FastAPI flattens them into app.routes
        routes = app.routes
    found = set()
    for route in routes:
        path = getattr(route, "path", None) or ""
        if not path.startswith(API_PREFIX + "/"):
            continue
        methods = getattr(route, "methods", None)
        assert methods, f"{path} has no HTTP methods: a WebSocket route under {API_PREFIX}?"
        found.update((method, path) for method in methods if method != "HEAD")
    return found


@dataclass
class World:
    """Tenant A with data worth stealing; tenant B's people trying to reach it."""

    http: httpx.AsyncClient
    a: TenantFixture
    b: TenantFixture
    a_shopper: Shopper
    b_shopper: Shopper
    secret_text: str
    markers: list[str] = field(default_factory=list)

    @property
    def a_cid(self) -> str:
        assert self.a_shopper.conversation_id is not None
        return self.a_shopper.conversation_id

    @property
    def b_cid(self) -> str:
        assert self.b_shopper.conversation_id is not None
        return self.b_shopper.conversation_id

    @property
    def b_admin(self) -> dict[str, str]:
        return self.b.admin.headers

    def no_leak(self, response: httpx.Response) -> None:
        """None of A's data is in the answer (except what the request itself named)."""
        asked = str(response.request.url) + response.request.content.decode(errors="replace")
        for marker in self.markers:
            if marker not in asked:
                assert marker not in response.text, (
                    f"{response.request.method} {response.request.url} leaked {marker!r}: "
                    f"{response.text}"
                )

    async def call(
        self,
        method: str,
        path: str,
        expect: int | tuple[int, ...],
        headers: dict[str, str] | None = None,
        code: str | None = None,
        check_leak: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        response = await self.http.request(
            method, path, headers=headers if headers is not None else self.b_admin, **kwargs
        )
        statuses = (expect,) if isinstance(expect, int) else expect
        assert response.status_code in statuses, (method, path, response.status_code, response.text)
        if code is not None:
            assert response.json()["error"]["code"] == code, (method, path, response.text)
        if check_leak:
            self.no_leak(response)
        return response


Case = Callable[[World], Awaitable[None]]


async def login(w: World) -> None:
    # B's admin cannot open A's accounts with B's password.
    for email in (w.a.agent.email, w.a.admin.email):
        await w.call(
            "POST",
            "/api/v1/auth/login",
            401,
            headers={},
            code="invalid_credentials",
            json={"email": email, "password": w.b.admin.password},
        )
    own = await w.call(
        "POST",
        "/api/v1/auth/login",
        200,
        headers={},
        json={"email": w.b.admin.email, "password": w.b.admin.password},
    )
    assert own.json()["agent"]["id"] == w.b.admin.id


async def refresh(w: World) -> None:
    tokens = await w.http.post(
        "/api/v1/auth/login", json={"email": w.b.admin.email, "password": w.b.admin.password}
    )
    response = await w.call(
        "POST",
        "/api/v1/auth/refresh",
        200,
        headers={},
        json={"refresh_token": tokens.json()["refresh_token"]},
    )
    assert response.json()["agent"]["id"] == w.b.admin.id


async def me(w: World) -> None:
    response = await w.call("GET", "/api/v1/auth/me", 200)
    assert response.json()["id"] == w.b.admin.id


async def widget_sessions(w: World) -> None:
    # A's widget key from B's storefront.
    await w.call(
        "POST",
        "/api/v1/widget/sessions",
        403,
        headers={"Origin": w.b.origin},
        code="origin_not_allowed",
        json={"widget_key": w.a.widget_key},
    )
    # B's visitor token presented to A's widget (from A's page, as anyone may): a new
    # visitor of A, neither B's visitor nor A's existing shopper.
    response = await w.call(
        "POST",
        "/api/v1/widget/sessions",
        200,
        headers={"Origin": w.a.origin},
        check_leak=False,
        json={"widget_key": w.a.widget_key, "visitor_token": w.b_shopper.token},
    )
    visitor = response.json()["visitor"]
    assert visitor["id"] not in (w.b_shopper.visitor_id, w.a_shopper.visitor_id)
    assert w.secret_text not in response.text
    assert w.a.identity_secret not in response.text
    # A's signed identity on B's widget key.
    await w.call(
        "POST",
        "/api/v1/widget/sessions",
        403,
        headers={"Origin": w.b.origin},
        code="identity_invalid",
        json={
            "widget_key": w.b.widget_key,
            "external_id": "a-customer",
            "identity_hash": w.a.sign("a-customer"),
        },
    )


async def widget_conversations(w: World) -> None:
    response = await w.call(
        "POST", "/api/v1/widget/conversations", 200, headers=w.b_shopper.headers
    )
    assert response.json()["id"] == w.b_cid
    await w.call("POST", "/api/v1/widget/conversations", 403, code="visitor_required")


async def list_conversations(w: World) -> None:
    for params in ({}, {"status": "open"}, {"assignee": "unassigned"}, {"assignee": w.a.agent.id}):
        for headers in (w.b_admin, w.b.agent.headers, w.b_shopper.headers):
            response = await w.call("GET", "/api/v1/conversations", 200, headers, params=params)
            listed = [c["id"] for c in response.json()["conversations"]]
            assert w.a_cid not in listed


async def get_conversation(w: World) -> None:
    for headers in (w.b_admin, w.b_shopper.headers):
        await w.call(
            "GET", f"/api/v1/conversations/{w.a_cid}", 404, headers, code="conversation_not_found"
        )


async def conversation_events(w: World) -> None:
    for params in ({}, {"after_seq": 0}, {"before_seq": 99}):
        for headers in (w.b_admin, w.b_shopper.headers):
            await w.call(
                "GET",
                f"/api/v1/conversations/{w.a_cid}/events",
                404,
                headers,
                code="conversation_not_found",
                params=params,
            )


async def conversation_messages(w: World) -> None:
    for headers in (w.b_admin, w.b_shopper.headers):
        await w.call(
            "GET",
            f"/api/v1/conversations/{w.a_cid}/messages",
            404,
            headers,
            code="conversation_not_found",
            params={"after_seq": 0},
        )


async def _assign_like(w: World, action: str) -> None:
    # A's conversation, with B's own agent as target.
    await w.call(
        "POST",
        f"/api/v1/conversations/{w.a_cid}/{action}",
        404,
        code="conversation_not_found",
        json={"agent_id": w.b.admin.id},
    )
    # A's conversation, with A's own agent as target.
    await w.call(
        "POST",
        f"/api/v1/conversations/{w.a_cid}/{action}",
        404,
        code="conversation_not_found",
        json={"agent_id": w.a.agent.id},
    )
    # B's conversation, handed to A's agent.
    await w.call(
        "POST",
        f"/api/v1/conversations/{w.b_cid}/{action}",
        404,
        code="agent_not_found",
        json={"agent_id": w.a.agent.id},
    )


async def assign(w: World) -> None:
    await _assign_like(w, "assign")
    await w.call(
        "POST",
        f"/api/v1/conversations/{w.a_cid}/assign",
        404,
        code="conversation_not_found",
        json={"agent_id": None},
    )


async def transfer(w: World) -> None:
    await _assign_like(w, "transfer")


async def close(w: World) -> None:
    await w.call(
        "POST", f"/api/v1/conversations/{w.a_cid}/close", 404, code="conversation_not_found"
    )


async def reopen(w: World) -> None:
    await w.call(
        "POST", f"/api/v1/conversations/{w.a_cid}/reopen", 404, code="conversation_not_found"
    )


async def list_agents(w: World) -> None:
    response = await w.call("GET", "/api/v1/agents", 200)
    listed = {agent["id"] for agent in response.json()["agents"]}
    assert listed >= {w.b.admin.id, w.b.agent.id}
    assert not listed & {w.a.admin.id, w.a.agent.id}


async def add_agent(w: World) -> None:
    email = f"b.hire.{w.b.id[:8]}@test.kefu"
    response = await w.call(
        "POST",
        "/api/v1/agents",
        201,
        json={"email": email, "name": "B Hire", "password": "b-hire-password"},
    )
    new_id = response.json()["id"]
    a_team = await w.http.get("/api/v1/agents", headers=w.a.admin.headers)
    assert new_id not in {agent["id"] for agent in a_team.json()["agents"]}
    b_team = await w.http.get("/api/v1/agents", headers=w.b_admin)
    assert new_id in {agent["id"] for agent in b_team.json()["agents"]}
    # The email of A's agent is taken (emails sign in, so they are global), and nothing
    # about A's agent comes back with the refusal.
    await w.call(
        "POST",
        "/api/v1/agents",
        409,
        code="email_taken",
        json={"email": w.a.agent.email, "name": "Copy", "password": "copy-password"},
    )


async def set_presence(w: World) -> None:
    response = await w.call("PUT", "/api/v1/agents/me/presence", 200, json={"status": "away"})
    assert response.json()["id"] == w.b.admin.id
    await w.call("PUT", "/api/v1/agents/me/presence", 200, json={"status": "online"})


async def update_agent(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        for body in (
            {"name": "Owned"},
            {"active": False},
            {"role": "agent"},
            {"password": "p" * 12},
        ):
            await w.call(
                "PATCH", f"/api/v1/agents/{agent_id}", 404, code="agent_not_found", json=body
            )


async def get_tenant(w: World) -> None:
    response = await w.call("GET", "/api/v1/tenant", 200)
    assert response.json()["id"] == w.b.id


async def update_tenant(w: World) -> None:
    response = await w.call(
        "PATCH",
        "/api/v1/tenant",
        200,
        json={"allowed_origins": [w.b.origin, "https://b-second.example"], "name": "Rival"},
    )
    assert response.json()["id"] == w.b.id


async def rotate_identity_secret(w: World) -> None:
    response = await w.call("POST", "/api/v1/tenant/identity-secret/rotate", 200)
    assert response.json()["id"] == w.b.id


async def translation_status(w: World) -> None:
    response = await w.call("GET", "/api/v1/translation", 200)
    assert response.json()["glossary"] == {}


async def translation_settings(w: World) -> None:
    await w.call(
        "PUT", "/api/v1/translation/settings", 200, json={"glossary": {"keep": ["B-only term"]}}
    )
    await w.call(
        "PUT",
        "/api/v1/translation/settings",
        403,
        w.b.agent.headers,
        code="admin_required",
        json={"languages": ["en"]},
    )


async def translation_preview(w: World) -> None:
    path = f"/api/v1/conversations/{w.a_cid}/translation-preview"
    await w.call("POST", path, 404, code="conversation_not_found", json={"text": "hi"})
    await w.call("POST", path, 403, w.b_shopper.headers, json={"text": "hi"})


async def widget_language(w: World) -> None:
    # It names no one: a shopper sets only their own language; staff tokens are refused.
    await w.call(
        "PUT", "/api/v1/widget/language", 200, w.b_shopper.headers, json={"language": "de"}
    )
    await w.call(
        "PUT", "/api/v1/widget/language", 403, code="visitor_required", json={"language": "de"}
    )


async def widget_contact(w: World) -> None:
    # Like the language: a shopper leaves only their own address; staff tokens are refused.
    body = {"email": "b.shopper@example.com"}
    await w.call("PUT", "/api/v1/widget/contact", 200, w.b_shopper.headers, json=body)
    await w.call("PUT", "/api/v1/widget/contact", 403, code="visitor_required", json=body)


# Scheduling and routing (server/api/scheduling.py)

SCHEDULE = {
    "timezone": "Asia/Shanghai",
    "languages": ["zh", "en"],
    "markets": ["US"],
    "max_chats": 2,
    "schedule": {"weekly": [{"weekday": "monday", "start": "09:00", "duration_minutes": 540}]},
}
A_MARKET = {"code": "AQ", "tz": "Antarctica/Troll", "languages": ["no"]}
B_MARKET = {"code": "BX", "tz": "Europe/Berlin", "languages": ["en"]}
TIME_OFF = {"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"}


async def _markets(w: World) -> None:
    """A has market AQ, B has BX (made by their own admins)."""
    for headers, body in ((w.a.admin.headers, A_MARKET), (w.b_admin, B_MARKET)):
        made = await w.http.post("/api/v1/markets", json=body, headers=headers)
        assert made.status_code in (201, 409), made.text


async def _a_untouched_schedule(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        view = await w.http.get(f"/api/v1/agents/{agent_id}/schedule", headers=w.a.admin.headers)
        assert view.status_code == 200, view.text
        assert view.json()["schedule"] is None and view.json()["markets"] == []


async def _a_market_untouched(w: World) -> None:
    view = await w.http.get("/api/v1/markets/AQ", headers=w.a.admin.headers)
    assert view.status_code == 200, view.text
    assert view.json()["tz"] == "Antarctica/Troll"


async def get_schedule(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        path = f"/api/v1/agents/{agent_id}/schedule"
        await w.call("GET", path, 404, code="agent_not_found")
        await w.call("GET", path, 403, w.b.agent.headers, code="admin_required")
    own = await w.call("GET", "/api/v1/agents/me/schedule", 200, w.b.agent.headers)
    assert own.json()["agent_id"] == w.b.agent.id
    await w.call(
        "GET",
        f"/api/v1/agents/{w.b.admin.id}/schedule",
        403,
        w.b.agent.headers,
        code="admin_required",
    )


async def put_schedule(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        await w.call(
            "PUT", f"/api/v1/agents/{agent_id}/schedule", 404, code="agent_not_found", json=SCHEDULE
        )
    own = await w.call("PUT", f"/api/v1/agents/{w.b.agent.id}/schedule", 200, json=SCHEDULE)
    assert own.json()["timezone"] == "Asia/Shanghai"
    await w.call(
        "PUT",
        f"/api/v1/agents/{w.b.agent.id}/schedule",
        403,
        w.b.agent.headers,
        code="admin_required",
        json=SCHEDULE,
    )
    await _a_untouched_schedule(w)


async def add_time_off(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        await w.call(
            "POST",
            f"/api/v1/agents/{agent_id}/time-off",
            404,
            code="agent_not_found",
            json=TIME_OFF,
        )
    await w.call("PUT", f"/api/v1/agents/{w.b.agent.id}/schedule", 200, json=SCHEDULE)
    own = await w.call("POST", f"/api/v1/agents/{w.b.agent.id}/time-off", 201, json=TIME_OFF)
    assert own.json()["schedule"]["time_off"][-1]["start"] == TIME_OFF["start"]
    await _a_untouched_schedule(w)


async def delete_time_off(w: World) -> None:
    for agent_id in (w.a.agent.id, w.a.admin.id):
        await w.call("DELETE", f"/api/v1/agents/{agent_id}/time-off/0", 404, code="agent_not_found")
    await w.call("PUT", f"/api/v1/agents/{w.b.agent.id}/schedule", 200, json=SCHEDULE)
    await w.call("POST", f"/api/v1/agents/{w.b.agent.id}/time-off", 201, json=TIME_OFF)
    own = await w.call("DELETE", f"/api/v1/agents/{w.b.agent.id}/time-off/0", 200)
    assert own.json()["schedule"]["time_off"] == []


async def list_markets(w: World) -> None:
    await _markets(w)
    listed = await w.call("GET", "/api/v1/markets", 200)
    assert [m["code"] for m in listed.json()["markets"]] == ["BX"]
    a_side = await w.http.get("/api/v1/markets", headers=w.a.agent.headers)
    assert [m["code"] for m in a_side.json()["markets"]] == ["AQ"]


async def get_market(w: World) -> None:
    await _markets(w)
    for headers in (w.b_admin, w.b.agent.headers):
        await w.call("GET", "/api/v1/markets/AQ", 404, headers, code="market_not_found")
    await w.call("GET", "/api/v1/markets/BX", 403, w.b_shopper.headers, code="agent_required")


async def create_market(w: World) -> None:
    await _markets(w)
    # The same code in B is B's own market; A's stays as it is.
    mine = {**A_MARKET, "tz": "Europe/Oslo"}
    await w.call("POST", "/api/v1/markets", 201, json=mine)
    await w.call("POST", "/api/v1/markets", 403, w.b.agent.headers, json=B_MARKET)
    await _a_market_untouched(w)
    await w.call("DELETE", "/api/v1/markets/AQ", 204)
    await _a_market_untouched(w)


async def replace_market(w: World) -> None:
    await _markets(w)
    body = {"tz": "Europe/Oslo", "languages": ["nb"]}
    await w.call("PUT", "/api/v1/markets/AQ", 404, code="market_not_found", json=body)
    await _a_market_untouched(w)


async def delete_market(w: World) -> None:
    await _markets(w)
    await w.call("DELETE", "/api/v1/markets/AQ", 404, code="market_not_found")
    await _a_market_untouched(w)


async def get_calendar(w: World) -> None:
    response = await w.call("GET", "/api/v1/calendars/CN/2026", 200)
    assert "2026-02-14" in response.json()["adjusted_working_days"]
    await w.call(
        "GET", "/api/v1/calendars/CN/2026", 403, w.b_shopper.headers, code="agent_required"
    )


async def get_availability(w: World) -> None:
    await _markets(w)
    for headers in (w.b_admin, w.b_shopper.headers):
        await w.call(
            "GET",
            "/api/v1/availability",
            404,
            headers,
            code="market_not_found",
            params={"market": "AQ"},
        )
    own = await w.call("GET", "/api/v1/availability", 200, params={"market": "BX"})
    assert own.json()["market"] == "BX"
    assert not set(own.json()["agents_on_shift"]) & {w.a.admin.id, w.a.agent.id}


async def get_coverage(w: World) -> None:
    await _markets(w)
    await w.call(
        "GET",
        "/api/v1/coverage",
        404,
        code="market_not_found",
        params={"market": "AQ", "week": "2026-03-02"},
    )
    own = await w.call(
        "GET", "/api/v1/coverage", 200, params={"market": "BX", "week": "2026-03-02"}
    )
    assert len(own.json()["slots"]) == 7 * 48
    assert not set(own.json()["agents"]) & {w.a.admin.id, w.a.agent.id}


async def get_queue(w: World) -> None:
    from server.store.models import Conversation, utcnow

    async def queue_a(runtime: Any, queued: bool = True) -> None:
        async with runtime.db.write() as session:
            row = await session.get(Conversation, w.a_cid)
            row.queued_at = utcnow() if queued else None

    await w.a.server.acall(queue_a)
    try:
        a_side = await w.http.get("/api/v1/queue", headers=w.a.agent.headers)
        assert [q["conversation_id"] for q in a_side.json()["queue"]] == [w.a_cid]
        response = await w.call("GET", "/api/v1/queue", 200)
        assert response.json()["queue"] == []
        listed = {a["id"] for a in response.json()["agents"]}
        assert w.b.admin.id in listed and not listed & {w.a.admin.id, w.a.agent.id}
        await w.call("GET", "/api/v1/queue", 403, w.b_shopper.headers, code="agent_required")
    finally:
        await w.a.server.acall(lambda runtime: queue_a(runtime, False))


async def get_routing(w: World) -> None:
    response = await w.call("GET", "/api/v1/routing", 200)
    assert response.json()["enabled"] is False


async def put_routing(w: World) -> None:
    on = await w.call("PUT", "/api/v1/routing", 200, json={"enabled": True})
    assert on.json()["enabled"] is True
    a_side = await w.http.get("/api/v1/routing", headers=w.a.admin.headers)
    assert a_side.json()["enabled"] is False
    await w.call("PUT", "/api/v1/routing", 200, json={"enabled": False})
    await w.call(
        "PUT",
        "/api/v1/routing",
        403,
        w.b.agent.headers,
        code="admin_required",
        json={"enabled": True},
    )


async def ice_servers(w: World) -> None:
    """Each caller gets credentials in their own name, never naming anyone of A."""
    response = await w.call("GET", "/api/v1/calls/ice-servers", 200)
    assert "ice_servers" in response.json()
    for a_id in (w.a.agent.id, w.a.admin.id, w.a.id):
        assert a_id not in response.text


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/v1/auth/login"): login,
    ("POST", "/api/v1/auth/refresh"): refresh,
    ("GET", "/api/v1/auth/me"): me,
    ("POST", "/api/v1/widget/sessions"): widget_sessions,
    ("POST", "/api/v1/widget/conversations"): widget_conversations,
    ("GET", "/api/v1/conversations"): list_conversations,
    ("GET", "/api/v1/conversations/{conversation_id}"): get_conversation,
    ("GET", "/api/v1/conversations/{conversation_id}/events"): conversation_events,
    ("GET", "/api/v1/conversations/{conversation_id}/messages"): conversation_messages,
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): assign,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): transfer,
    ("POST", "/api/v1/conversations/{conversation_id}/close"): close,
    ("POST", "/api/v1/conversations/{conversation_id}/reopen"): reopen,
    ("GET", "/api/v1/agents"): list_agents,
    ("POST", "/api/v1/agents"): add_agent,
    ("PUT", "/api/v1/agents/me/presence"): set_presence,
    ("PATCH", "/api/v1/agents/{agent_id}"): update_agent,
    ("GET", "/api/v1/tenant"): get_tenant,
    ("PATCH", "/api/v1/tenant"): update_tenant,
    ("POST", "/api/v1/tenant/identity-secret/rotate"): rotate_identity_secret,
    ("GET", "/api/v1/translation"): translation_status,
    ("PUT", "/api/v1/translation/settings"): translation_settings,
    ("POST", "/api/v1/conversations/{conversation_id}/translation-preview"): translation_preview,
    ("PUT", "/api/v1/widget/language"): widget_language,
    ("PUT", "/api/v1/widget/contact"): widget_contact,
    ("GET", "/api/v1/agents/{agent_id}/schedule"): get_schedule,
    ("PUT", "/api/v1/agents/{agent_id}/schedule"): put_schedule,
    ("POST", "/api/v1/agents/{agent_id}/time-off"): add_time_off,
    ("DELETE", "/api/v1/agents/{agent_id}/time-off/{index}"): delete_time_off,
    ("GET", "/api/v1/markets"): list_markets,
    ("GET", "/api/v1/markets/{code}"): get_market,
    ("POST", "/api/v1/markets"): create_market,
    ("PUT", "/api/v1/markets/{code}"): replace_market,
    ("DELETE", "/api/v1/markets/{code}"): delete_market,
    ("GET", "/api/v1/calendars/{country}/{year}"): get_calendar,
    ("GET", "/api/v1/availability"): get_availability,
    ("GET", "/api/v1/coverage"): get_coverage,
    ("GET", "/api/v1/queue"): get_queue,
    ("GET", "/api/v1/routing"): get_routing,
    ("PUT", "/api/v1/routing"): put_routing,
    ("GET", "/api/v1/calls/ice-servers"): ice_servers,
}


def test_every_api_route_has_a_cross_tenant_case(server: RunningServer) -> None:
    routes = api_routes(server.app)
    assert len(routes) >= len(CASES) // 2, "walking the routes found too few: check api_routes"
    missing = routes - set(CASES)
    stale = set(CASES) - routes
    assert not missing, f"routes without a cross-tenant case in test_tenancy.CASES: {missing}"
    assert not stale, f"cases for routes that no longer exist: {stale}"


async def chat(server: RunningServer, shopper: Shopper, text: str, client_id: str) -> None:
    assert shopper.conversation_id is not None
    ws = await WsClient.open(server, shopper.token)
    ack = await ws.send_message(shopper.conversation_id, text, client_id)
    assert ack["type"] == "message.ack", ack
    await ws.close()


async def make_world(
    server: RunningServer,
    http: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> World:
    secret_text = f"order 4711 for {tenant.id[:6]}: card ends 1234"
    a_shopper = await tenant.shopper(
        name="Alice Private",
        email=f"alice.{tenant.id[:6]}@private.example",
        external_id="alice",
        identity_hash=tenant.sign("alice"),
    )
    b_shopper = await other_tenant.shopper(name="Bob")
    await chat(server, a_shopper, secret_text, "a1")
    await chat(server, b_shopper, "hello from B", "b1")
    world = World(http, tenant, other_tenant, a_shopper, b_shopper, secret_text)
    world.markers = [
        secret_text,
        "Alice Private",
        f"alice.{tenant.id[:6]}@private.example",
        tenant.identity_secret,
        tenant.widget_key,
        tenant.admin.email,
        tenant.agent.email,
        tenant.origin,
        tenant.id,
        tenant.admin.id,
        tenant.agent.id,
        a_shopper.visitor_id,
        world.a_cid,
    ]
    return world


async def a_is_untouched(world: World) -> None:
    http, a = world.http, world.a
    detail = await http.get(f"/api/v1/conversations/{world.a_cid}", headers=a.admin.headers)
    assert detail.status_code == 200
    assert detail.json()["status"] == "open"
    assert detail.json()["assignee"] is None
    assert detail.json()["last_seq"] == 1
    events = await http.get(f"/api/v1/conversations/{world.a_cid}/events", headers=a.admin.headers)
    assert [e["message"]["text"] for e in events.json()["events"]] == [world.secret_text]

    team = await http.get("/api/v1/agents", headers=a.admin.headers)
    agents = {agent["id"]: agent for agent in team.json()["agents"]}
    assert set(agents) == {a.admin.id, a.agent.id}
    assert agents[a.agent.id]["name"] == "Li Wei"
    assert agents[a.admin.id]["role"] == "admin"
    assert all(agent["active"] and agent["status"] == "online" for agent in agents.values())
    for login_ in (a.agent, a.admin):
        response = await http.post(
            "/api/v1/auth/login", json={"email": login_.email, "password": login_.password}
        )
        assert response.status_code == 200

    settings = await http.get("/api/v1/tenant", headers=a.admin.headers)
    assert settings.json()["allowed_origins"] == [a.origin]
    assert settings.json()["identity_secret"] == a.identity_secret
    assert settings.json()["name"] == "Shop"
    again = await a.shopper(external_id="alice", identity_hash=a.sign("alice"))
    assert again.visitor_id == world.a_shopper.visitor_id
    assert again.conversation_id == world.a_cid


async def test_other_tenant_reaches_nothing_over_rest(
    server: RunningServer,
    http: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    world = await make_world(server, http, tenant, other_tenant)
    failures = []
    for (method, path), case in CASES.items():
        try:
            await case(world)
        except AssertionError as exc:
            failures.append(f"{method} {path}: {exc}")
    assert not failures, "\n".join(failures)
    await a_is_untouched(world)


async def test_widget_frame_is_framed_only_by_its_own_tenant(
    http: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    response = await http.get("/widget/frame", params={"key": tenant.widget_key})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert tenant.origin in policy
    assert other_tenant.origin not in policy
    unknown = await http.get("/widget/frame", params={"key": "wk_nope"})
    assert unknown.status_code == 404


# WebSocket


def frames_text(frames: list[dict[str, Any]]) -> str:
    return json.dumps(frames, ensure_ascii=False)


async def test_other_tenant_reaches_nothing_over_websocket(
    server: RunningServer,
    http: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    world = await make_world(server, http, tenant, other_tenant)
    cid = world.a_cid

    for token in (other_tenant.agent.token, other_tenant.admin.token, world.b_shopper.token):
        ws = await open_live(server, token)
        ack = await ws.send_message(cid, "let me in", "x1")
        assert ack["type"] == "error", ack
        assert ack["code"] == "conversation_not_found"

        await ws.send({"type": "typing", "conversation_id": cid, "state": True})
        error = await ws.expect("error")
        assert error["code"] == "conversation_not_found"

        await ws.send({"type": "read", "conversation_id": cid, "seq": 1})
        error = await ws.expect("error")
        assert error["code"] == "conversation_not_found"

        await ws.send({"type": "resume", "conversations": {cid: 0}})
        error = await ws.expect("error")
        assert error["code"] == "conversation_not_found"
        synced = await ws.expect("synced")
        assert synced["conversations"] == {}

        # Still usable after the refusals.
        await ws.send({"type": "ping", "id": "p1"})
        await ws.expect("pong", id="p1")
        assert world.secret_text not in frames_text(ws.frames)
        assert not [f for f in ws.frames if f["type"] in ("message.new", "conversation.updated")]
        await ws.close()

    # hello.resume naming A's conversation: an error, and no replay.
    ws = await WsClient.open(server)
    await ws.send({"type": "hello", "token": other_tenant.agent.token, "resume": {cid: 0}})
    welcome = await ws.expect("welcome")
    assert welcome["user"]["tenant_id"] == other_tenant.id
    error = await ws.expect("error")
    assert error["code"] == "conversation_not_found"
    synced = await ws.expect("synced")
    assert synced["conversations"] == {}
    await ws.quiet(0.3)
    assert not [f for f in ws.frames if f["type"] == "message.new"]
    assert world.secret_text not in frames_text(ws.frames)
    await ws.close()

    # Nothing B sent landed in A's conversation.
    events = await http.get(f"/api/v1/conversations/{cid}/events", headers=tenant.agent.headers)
    assert events.json()["last_seq"] == 1
    # A's read cursor was not moved by B either: A's agent still has it unread.
    inbox = await http.get("/api/v1/conversations", headers=tenant.agent.headers)
    assert {c["id"]: c["unread"] for c in inbox.json()["conversations"]}[cid] == 1


async def test_other_tenant_never_receives_live_events(
    server: RunningServer,
    http: httpx.AsyncClient,
    tenant: TenantFixture,
    other_tenant: TenantFixture,
) -> None:
    world = await make_world(server, http, tenant, other_tenant)
    cid = world.a_cid
    a_agent = await open_live(server, tenant.agent.token)
    spies = [
        await open_live(server, other_tenant.agent.token),
        await open_live(server, other_tenant.admin.token),
        await open_live(server, world.b_shopper.token),
    ]
    a_shopper = await open_live(server, world.a_shopper.token)
    await a_shopper.send({"type": "typing", "conversation_id": cid, "state": True})
    await a_agent.expect("typing", conversation_id=cid)
    ack = await a_shopper.send_message(cid, "second secret: 9999", "a2")
    assert ack["type"] == "message.ack"
    await a_agent.expect("message.new", conversation_id=cid, seq=ack["seq"])
    assign = await http.post(
        f"/api/v1/conversations/{cid}/assign",
        json={"agent_id": tenant.agent.id},
        headers=tenant.agent.headers,
    )
    assert assign.status_code == 200
    await a_agent.expect("conversation.updated", conversation_id=cid)
    presence = await http.put(
        "/api/v1/agents/me/presence", json={"status": "away"}, headers=tenant.agent.headers
    )
    assert presence.status_code == 200
    await a_agent.expect("presence", agent_id=tenant.agent.id, status="away")

    # B's own traffic still reaches B (the spies are listening), A's never does.
    b_ack = await spies[2].send_message(world.b_cid, "B is here", "b2")
    assert b_ack["type"] == "message.ack"
    await spies[0].expect("message.new", conversation_id=world.b_cid)
    for spy in spies:
        await spy.quiet(0.3)
        leaked = [f for f in spy.frames if f.get("conversation_id") == cid]
        assert not leaked, leaked
        assert not [
            f for f in spy.frames if f.get("agent_id") in (tenant.agent.id, tenant.admin.id)
        ]
        assert "second secret" not in frames_text(spy.frames)
        await spy.close()
    await a_agent.close()
    await a_shopper.close()
