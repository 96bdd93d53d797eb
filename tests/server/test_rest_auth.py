"""Agent sign-in over REST: login, refresh, token kinds, expiry, deactivation."""

from __future__ import annotations

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from server.auth import Principal
from tests.harness import RunningServer, TenantFixture, WsClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_gives_a_token_that_names_the_agent(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await login(http, tenant.agent.email, tenant.agent.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["agent"]["id"] == tenant.agent.id
    assert "password_hash" not in body["agent"]

    me = await http.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == tenant.agent.id
    assert me.json()["email"] == tenant.agent.email
    assert me.json()["role"] == "agent"

    admin_me = await http.get("/api/v1/auth/me", headers=tenant.admin.headers)
    assert admin_me.json()["role"] == "admin"


async def test_login_email_is_case_insensitive(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await login(http, "  " + tenant.agent.email.upper(), tenant.agent.password)
    assert response.status_code == 200, response.text
    assert response.json()["agent"]["id"] == tenant.agent.id


async def test_wrong_password_and_unknown_email_look_the_same(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    wrong = await login(http, tenant.agent.email, tenant.agent.password + "x")
    unknown = await login(http, "nobody-here@test.kefu", tenant.agent.password)
    for response in (wrong, unknown):
        assert response.status_code == 401, response.text
        assert error_code(response) == "invalid_credentials"
        assert "access_token" not in response.text
    assert wrong.json() == unknown.json()


async def test_another_agents_password_does_not_open_this_account(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await login(http, tenant.agent.email, tenant.admin.password)
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


async def test_deactivated_agent_can_no_longer_log_in_refresh_or_use_a_token(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = await login(http, tenant.agent.email, tenant.agent.password)
    refresh_token = first.json()["refresh_token"]
    access_token = first.json()["access_token"]
    # Two tabs open before; a colleague's connection must stay.
    tabs = [await WsClient.open(server, access_token) for _ in range(2)]
    colleague = await WsClient.open(server, tenant.admin.token)

    off = await http.patch(
        f"/api/v1/agents/{tenant.agent.id}", json={"active": False}, headers=tenant.admin.headers
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False

    # Connections already open end at once: told why, then closed with 4003.
    for tab in tabs:
        ended = await tab.expect("error")
        assert ended["code"] == "agent_deactivated"
        with pytest.raises(ConnectionClosed) as closed:
            await tab.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4003
    await colleague.send({"type": "ping", "id": "still-here"})
    await colleague.expect("pong", id="still-here")
    await colleague.close()

    again = await login(http, tenant.agent.email, tenant.agent.password)
    assert again.status_code == 401
    assert error_code(again) == "invalid_credentials"

    refreshed = await http.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refreshed.status_code == 401
    assert error_code(refreshed) == "invalid_token"

    # The access token issued before deactivation stops working at once, on REST ...
    for path in ("/api/v1/auth/me", "/api/v1/conversations", "/api/v1/agents"):
        response = await http.get(path, headers=bearer(access_token))
        assert response.status_code == 401, (path, response.text)
        assert error_code(response) == "invalid_token"
    # ... and on the WebSocket.
    ws = await WsClient.open(server)
    await ws.send({"type": "hello", "token": access_token})
    error = await ws.expect("error")
    assert error["code"] == "invalid_token"
    await ws.close()

    # Reactivated, the same password works again.
    on = await http.patch(
        f"/api/v1/agents/{tenant.agent.id}", json={"active": True}, headers=tenant.admin.headers
    )
    assert on.status_code == 200
    back = await login(http, tenant.agent.email, tenant.agent.password)
    assert back.status_code == 200


async def test_demoted_admin_loses_admin_rights_at_once(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    other_admin = await tenant.add_agent("Second Admin", role="admin")
    assert (
        (await http.get("/api/v1/tenant", headers=other_admin.headers))
        .json()
        .get("identity_secret")
    )
    demote = await http.patch(
        f"/api/v1/agents/{other_admin.id}", json={"role": "agent"}, headers=tenant.admin.headers
    )
    assert demote.status_code == 200
    # The token still says "admin"; the store says otherwise and wins.
    rotate = await http.post("/api/v1/tenant/identity-secret/rotate", headers=other_admin.headers)
    assert rotate.status_code == 403
    assert error_code(rotate) == "admin_required"
    view = await http.get("/api/v1/tenant", headers=other_admin.headers)
    assert "identity_secret" not in view.json()


async def test_refresh_gives_a_new_working_access_token(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = (await login(http, tenant.admin.email, tenant.admin.password)).json()
    response = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent"]["id"] == tenant.admin.id
    assert body["refresh_token"]
    me = await http.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == tenant.admin.id


async def test_token_kinds_are_not_interchangeable(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    tokens = (await login(http, tenant.agent.email, tenant.agent.password)).json()

    access_as_refresh = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]}
    )
    assert access_as_refresh.status_code == 401
    assert error_code(access_as_refresh) == "invalid_token"

    refresh_as_bearer = await http.get("/api/v1/auth/me", headers=bearer(tokens["refresh_token"]))
    assert refresh_as_bearer.status_code == 401
    assert error_code(refresh_as_bearer) == "invalid_token"

    shopper = await tenant.shopper(with_conversation=False)
    visitor_as_refresh = await http.post(
        "/api/v1/auth/refresh", json={"refresh_token": shopper.token}
    )
    assert visitor_as_refresh.status_code == 401
    visitor_as_agent = await http.get("/api/v1/auth/me", headers=shopper.headers)
    assert visitor_as_agent.status_code == 403
    assert error_code(visitor_as_agent) == "agent_required"


async def test_garbage_forged_and_expired_tokens_are_refused(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    garbage = await http.get("/api/v1/auth/me", headers=bearer("not-a-jwt"))
    assert garbage.status_code == 401
    assert error_code(garbage) == "invalid_token"

    # A well-formed token signed with another secret.
    from server.auth import TokenSigner

    principal = Principal("agent", tenant.admin.id, tenant.id, "admin", "Ada Admin")
    forged = TokenSigner("another-secret-" + "y" * 40).issue(principal, 600)
    response = await http.get("/api/v1/auth/me", headers=bearer(forged))
    assert response.status_code == 401
    assert error_code(response) == "invalid_token"

    expired = server.runtime.signer.issue(principal, -30)
    response = await http.get("/api/v1/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert error_code(response) == "token_expired"

    expired_refresh = server.runtime.signer.issue(principal, -30, "refresh")
    response = await http.post("/api/v1/auth/refresh", json={"refresh_token": expired_refresh})
    assert response.status_code == 401
    assert error_code(response) == "token_expired"

    # The same signer with a live ttl works: the refusals above are about the token.
    fresh = server.runtime.signer.issue(principal, 600)
    assert (await http.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 200


async def test_missing_or_malformed_authorization_is_401(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for headers in ({}, {"Authorization": tenant.agent.token}, {"Authorization": "Basic abc"}):
        response = await http.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert error_code(response) in ("unauthorized", "invalid_token")
    response = await http.get("/api/v1/conversations")
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"


async def test_login_validates_its_body(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/v1/auth/login", json={"email": "a@b.c"})
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"
