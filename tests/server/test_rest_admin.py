"""Admin over REST: the team list with presence, agent management, tenant settings."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import RunningServer, TenantFixture, WsClient


async def open_live(server: RunningServer, token: str) -> WsClient:
    """A WebSocket client that is following its channels: `synced` comes after the server
    subscribed the connection, so live events published after it cannot be missed."""
    ws = await WsClient.open(server, token)
    await ws.expect("synced")
    return ws


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def team(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = await http.get("/api/v1/agents", headers=headers)
    assert response.status_code == 200, response.text
    return {agent["id"]: agent for agent in response.json()["agents"]}


async def login_status(http: httpx.AsyncClient, email: str, password: str) -> int:
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_team_list_shows_connection_and_presence(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    agents = await team(http, tenant.agent.headers)
    assert set(agents) == {tenant.agent.id, tenant.admin.id}
    me = agents[tenant.agent.id]
    assert me["connected"] is False
    assert me["online"] is False
    assert me["status"] == "online"
    assert "password_hash" not in me

    ws = await open_live(server, tenant.agent.token)
    await ws.expect("presence", agent_id=tenant.agent.id, connected=True)
    me = (await team(http, tenant.admin.headers))[tenant.agent.id]
    assert me["connected"] is True
    assert me["online"] is True

    away = await http.put(
        "/api/v1/agents/me/presence", json={"status": "away"}, headers=tenant.agent.headers
    )
    assert away.status_code == 200, away.text
    assert away.json()["status"] == "away"
    assert away.json()["online"] is False
    assert away.json()["connected"] is True
    published = await ws.expect("presence", agent_id=tenant.agent.id, status="away")
    assert published["online"] is False
    me = (await team(http, tenant.admin.headers))[tenant.agent.id]
    assert (me["status"], me["connected"], me["online"]) == ("away", True, False)

    back = await http.put(
        "/api/v1/agents/me/presence", json={"status": "online"}, headers=tenant.agent.headers
    )
    assert back.json()["online"] is True
    bad = await http.put(
        "/api/v1/agents/me/presence", json={"status": "asleep"}, headers=tenant.agent.headers
    )
    assert bad.status_code == 422
    assert error_code(bad) == "invalid_request"
    await ws.close()


async def test_admin_creates_agents(http: httpx.AsyncClient, tenant: TenantFixture) -> None:
    email = f"new.agent.{tenant.id[:8]}@test.kefu"
    body = {"email": email, "name": "New Agent", "password": "long-enough-pw", "language": "de"}
    created = await http.post("/api/v1/agents", json=body, headers=tenant.admin.headers)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == email
    assert created.json()["role"] == "agent"
    assert created.json()["language"] == "de"
    assert "password" not in created.json()
    assert "password_hash" not in created.json()
    assert created.json()["id"] in await team(http, tenant.admin.headers)
    assert await login_status(http, email, "long-enough-pw") == 200

    duplicate = await http.post(
        "/api/v1/agents",
        json={**body, "email": email.upper(), "name": "Twin"},
        headers=tenant.admin.headers,
    )
    assert duplicate.status_code == 409
    assert error_code(duplicate) == "email_taken"

    as_agent = await http.post(
        "/api/v1/agents",
        json={**body, "email": "x" + email, "role": "admin"},
        headers=tenant.agent.headers,
    )
    assert as_agent.status_code == 403
    assert error_code(as_agent) == "admin_required"
    assert await login_status(http, "x" + email, "long-enough-pw") == 401

    for bad in (
        {**body, "email": "not-an-email"},
        {**body, "password": "short"},
        {**body, "role": "owner"},
        {**body, "name": ""},
    ):
        response = await http.post("/api/v1/agents", json=bad, headers=tenant.admin.headers)
        assert response.status_code == 422, bad
        assert error_code(response) == "invalid_request"


async def test_admin_patches_agents(http: httpx.AsyncClient, tenant: TenantFixture) -> None:
    url = f"/api/v1/agents/{tenant.agent.id}"
    response = await http.patch(
        url,
        json={
            "name": "Li Wei (EU)",
            "language": "fr",
            "role": "admin",
            "password": "new-password-1",
        },
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Li Wei (EU)"
    assert response.json()["language"] == "fr"
    assert response.json()["role"] == "admin"
    assert await login_status(http, tenant.agent.email, tenant.agent.password) == 401
    assert await login_status(http, tenant.agent.email, "new-password-1") == 200
    agents = await team(http, tenant.admin.headers)
    assert agents[tenant.agent.id]["name"] == "Li Wei (EU)"
    missing = await http.patch(
        "/api/v1/agents/no-such-agent", json={"name": "X"}, headers=tenant.admin.headers
    )
    assert missing.status_code == 404
    assert error_code(missing) == "agent_not_found"


async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    me = f"/api/v1/agents/{tenant.admin.id}"
    for change in ({"role": "agent"}, {"active": False}, {"name": "Still me", "role": "agent"}):
        refused = await http.patch(me, json=change, headers=tenant.admin.headers)
        assert refused.status_code == 409, change
        assert error_code(refused) == "last_admin"
    view = await team(http, tenant.admin.headers)
    assert view[tenant.admin.id]["role"] == "admin" and view[tenant.admin.id]["active"] is True
    assert view[tenant.admin.id]["name"] != "Still me"  # refused as a whole

    # With a second active admin, either may step down; then the other is the last one.
    second = await tenant.add_agent("Second Admin", role="admin")
    stepped = await http.patch(me, json={"role": "agent"}, headers=tenant.admin.headers)
    assert stepped.status_code == 200, stepped.text
    last = await http.patch(
        f"/api/v1/agents/{second.id}", json={"active": False}, headers=second.headers
    )
    assert last.status_code == 409
    assert error_code(last) == "last_admin"


async def test_agent_patches_only_their_own_profile(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    own = f"/api/v1/agents/{tenant.agent.id}"
    renamed = await http.patch(own, json={"name": "Wei"}, headers=tenant.agent.headers)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Wei"
    assert renamed.json()["role"] == "agent"
    password = await http.patch(
        own, json={"password": "my-own-new-pw"}, headers=tenant.agent.headers
    )
    assert password.status_code == 200
    assert await login_status(http, tenant.agent.email, "my-own-new-pw") == 200

    for change in ({"role": "admin"}, {"active": False}, {"name": "Wei", "role": "admin"}):
        response = await http.patch(own, json=change, headers=tenant.agent.headers)
        assert response.status_code == 403, change
        assert error_code(response) == "admin_required"
    other = await http.patch(
        f"/api/v1/agents/{tenant.admin.id}", json={"name": "Hacked"}, headers=tenant.agent.headers
    )
    assert other.status_code == 403
    assert error_code(other) == "admin_required"

    agents = await team(http, tenant.admin.headers)
    assert agents[tenant.agent.id]["name"] == "Wei"
    assert agents[tenant.agent.id]["role"] == "agent"
    assert agents[tenant.agent.id]["active"] is True
    assert agents[tenant.admin.id]["name"] == "Ada Admin"


async def test_tenant_settings_show_secrets_only_to_admins(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    as_agent = await http.get("/api/v1/tenant", headers=tenant.agent.headers)
    assert as_agent.status_code == 200
    assert as_agent.json()["id"] == tenant.id
    assert as_agent.json()["widget_key"] == tenant.widget_key
    assert as_agent.json()["allowed_origins"] == [tenant.origin]
    assert "identity_secret" not in as_agent.json()
    assert tenant.identity_secret not in as_agent.text

    as_admin = await http.get("/api/v1/tenant", headers=tenant.admin.headers)
    assert as_admin.json()["identity_secret"] == tenant.identity_secret

    shopper = await tenant.shopper(with_conversation=False)
    as_shopper = await http.get("/api/v1/tenant", headers=shopper.headers)
    assert as_shopper.status_code == 403
    assert error_code(as_shopper) == "agent_required"


async def test_admin_changes_allowed_origins_with_validation(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    new_origins = ["https://Shop.Example/", "http://localhost:3000", "self"]
    response = await http.patch(
        "/api/v1/tenant",
        json={"allowed_origins": new_origins, "name": "Renamed Shop"},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["allowed_origins"] == [
        "https://shop.example",
        "http://localhost:3000",
        "self",
    ]
    assert response.json()["name"] == "Renamed Shop"
    session = await http.post(
        "/api/v1/widget/sessions",
        json={"widget_key": tenant.widget_key},
        headers={"Origin": "https://shop.example"},
    )
    assert session.status_code == 200, session.text

    for bad in (
        ["ftp://shop.example"],
        ["https://shop.example/path"],
        ["shop.example"],
        ["https://shop example"],
        "https://shop.example",
    ):
        rejected = await http.patch(
            "/api/v1/tenant", json={"allowed_origins": bad}, headers=tenant.admin.headers
        )
        assert rejected.status_code == 422, (bad, rejected.text)
        assert error_code(rejected) == "invalid_request"
    current = await http.get("/api/v1/tenant", headers=tenant.admin.headers)
    assert "https://shop.example" in current.json()["allowed_origins"]

    as_agent = await http.patch(
        "/api/v1/tenant", json={"allowed_origins": ["*"]}, headers=tenant.agent.headers
    )
    assert as_agent.status_code == 403
    assert error_code(as_agent) == "admin_required"
    unchanged = await http.get("/api/v1/tenant", headers=tenant.admin.headers)
    assert "*" not in unchanged.json()["allowed_origins"]


async def test_rotating_the_identity_secret_invalidates_old_hashes(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    identified = await tenant.shopper(external_id="c-7", identity_hash=tenant.sign("c-7"))
    as_agent = await http.post(
        "/api/v1/tenant/identity-secret/rotate", headers=tenant.agent.headers
    )
    assert as_agent.status_code == 403
    assert error_code(as_agent) == "admin_required"

    rotated = await http.post("/api/v1/tenant/identity-secret/rotate", headers=tenant.admin.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["identity_secret"]
    assert new_secret != tenant.identity_secret

    def attempt(signature: str) -> Any:
        return http.post(
            "/api/v1/widget/sessions",
            json={
                "widget_key": tenant.widget_key,
                "external_id": "c-7",
                "identity_hash": signature,
            },
            headers={"Origin": tenant.origin},
        )

    old = await attempt(tenant.sign("c-7"))
    assert old.status_code == 403
    assert error_code(old) == "identity_invalid"
    tenant.identity_secret = new_secret
    new = await attempt(tenant.sign("c-7"))
    assert new.status_code == 200, new.text
    assert new.json()["visitor"]["id"] == identified.visitor_id
