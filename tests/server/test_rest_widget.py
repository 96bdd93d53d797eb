"""Widget sessions: widget key and origin checks, signed identities, resumed visitors."""

from __future__ import annotations

from typing import Any

import httpx

from server.auth import identity_hash
from tests.harness import RunningServer, TenantFixture, WsClient

SESSIONS = "/api/v1/widget/sessions"


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def session(
    http: httpx.AsyncClient, tenant: TenantFixture, origin: str | None = "tenant", **body: Any
) -> httpx.Response:
    headers = {}
    if origin == "tenant":
        headers["Origin"] = tenant.origin
    elif origin is not None:
        headers["Origin"] = origin
    return await http.post(
        SESSIONS, json={"widget_key": tenant.widget_key, **body}, headers=headers
    )


# Origins


async def test_allowed_origin_gets_a_visitor_token(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await session(http, tenant, name="Ann", language="en")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"]
    assert body["tenant"]["id"] == tenant.id
    assert body["visitor"]["name"] == "Ann"
    assert body["visitor"]["external_id"] is None
    # The origin check ignores a trailing slash and case, as browsers do.
    again = await session(http, tenant, origin=tenant.origin.upper() + "/")
    assert again.status_code == 200, again.text


async def test_other_origin_and_no_origin_are_refused(
    http: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    for origin in (
        "https://evil.example",
        other_tenant.origin,
        tenant.origin + ".evil.example",
        tenant.origin.replace("https://", "http://"),
        "null",
    ):
        response = await session(http, tenant, origin=origin)
        assert response.status_code == 403, (origin, response.text)
        assert error_code(response) == "origin_not_allowed"
        assert "token" not in response.json()
    response = await session(http, tenant, origin=None)
    assert response.status_code == 403
    assert error_code(response) == "origin_not_allowed"


async def test_own_origin_with_host_origin(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    """The widget iframe runs on Kefu's origin and names the storefront it is embedded in."""
    own = server.base_url
    allowed = await session(http, tenant, origin=own, host_origin=tenant.origin)
    assert allowed.status_code == 200, allowed.text
    not_allowed = await session(http, tenant, origin=own, host_origin="https://evil.example")
    assert not_allowed.status_code == 403
    assert error_code(not_allowed) == "origin_not_allowed"
    # Kefu's own origin alone is not one of this tenant's origins.
    bare = await session(http, tenant, origin=own)
    assert bare.status_code == 403
    assert error_code(bare) == "origin_not_allowed"
    # host_origin counts only when the caller is Kefu's own frame.
    smuggled = await session(http, tenant, origin="https://evil.example", host_origin=tenant.origin)
    assert smuggled.status_code == 403
    assert error_code(smuggled) == "origin_not_allowed"


async def test_self_in_allowed_origins_means_the_servers_own_origin(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    before = await session(http, tenant, origin=server.base_url)
    assert before.status_code == 403
    patched = await http.patch(
        "/api/v1/tenant", json={"allowed_origins": ["self"]}, headers=tenant.admin.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["allowed_origins"] == ["self"]
    after = await session(http, tenant, origin=server.base_url)
    assert after.status_code == 200, after.text
    # The old storefront origin is no longer in the list.
    old = await session(http, tenant)
    assert old.status_code == 403
    assert error_code(old) == "origin_not_allowed"


async def test_unknown_widget_key_is_404(http: httpx.AsyncClient, tenant: TenantFixture) -> None:
    response = await http.post(
        SESSIONS, json={"widget_key": "wk_nope"}, headers={"Origin": tenant.origin}
    )
    assert response.status_code == 404
    assert error_code(response) == "widget_key_unknown"


# Signed identities


async def test_same_signed_identity_on_two_devices_shares_history(
    server: RunningServer, http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    identity = {"external_id": "customer-42", "identity_hash": tenant.sign("customer-42")}
    phone = await tenant.shopper(**identity, name="Mia")
    laptop_session = await session(http, tenant, **identity)
    assert laptop_session.status_code == 200, laptop_session.text
    laptop_body = laptop_session.json()
    assert laptop_body["visitor"]["id"] == phone.visitor_id
    assert laptop_body["visitor"]["external_id"] == "customer-42"
    assert laptop_body["visitor"]["name"] == "Mia"
    laptop_headers = {"Authorization": f"Bearer {laptop_body['token']}"}

    ws = await WsClient.open(server, phone.token)
    assert phone.conversation_id is not None
    ack = await ws.send_message(phone.conversation_id, "where is my parcel?", "p1")
    assert ack["type"] == "message.ack"
    await ws.close()

    opened = await http.post("/api/v1/widget/conversations", headers=laptop_headers)
    assert opened.status_code == 200
    assert opened.json()["id"] == phone.conversation_id
    messages = await http.get(
        f"/api/v1/conversations/{phone.conversation_id}/messages", headers=laptop_headers
    )
    assert messages.status_code == 200
    texts = [e["message"]["text"] for e in messages.json()["events"]]
    assert texts == ["where is my parcel?"]

    laptop_ws = await WsClient.open(server)
    await laptop_ws.send({"type": "hello", "token": laptop_body["token"], "resume": {}})
    welcome = await laptop_ws.expect("welcome")
    assert phone.conversation_id in [c["id"] for c in welcome["conversations"]]
    await laptop_ws.close()


async def test_forged_or_missing_identity_hash_is_refused(
    http: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    victim = await tenant.shopper(
        external_id="victim", identity_hash=tenant.sign("victim"), name="Victim"
    )
    genuine_hash = tenant.sign("victim")
    one_digit_off = genuine_hash[:-1] + ("1" if genuine_hash.endswith("0") else "0")
    attempts: list[dict[str, Any]] = [
        {"external_id": "victim", "identity_hash": "0" * 64},
        {"external_id": "victim", "identity_hash": one_digit_off},
        {"external_id": "victim", "identity_hash": tenant.sign("someone-else")},
        {"external_id": "victim", "identity_hash": identity_hash("guessed-secret", "victim")},
        {"external_id": "victim", "identity_hash": ""},
        {"external_id": "victim"},
        # The identity hash of tenant B does not open tenant A.
        {"external_id": "victim", "identity_hash": other_tenant.sign("victim")},
        # A visitor token does not stand in for the signature.
        {"external_id": "victim", "visitor_token": victim.token},
    ]
    for attempt in attempts:
        response = await session(http, tenant, **attempt)
        assert response.status_code == 403, (attempt, response.text)
        assert error_code(response) == "identity_invalid"
        assert victim.visitor_id not in response.text
    # The genuine signature still works (the refusals were about the signature).
    genuine = await session(http, tenant, external_id="victim", identity_hash=tenant.sign("victim"))
    assert genuine.status_code == 200
    assert genuine.json()["visitor"]["id"] == victim.visitor_id


async def test_same_external_id_in_two_tenants_is_two_visitors(
    http: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    a = await tenant.shopper(external_id="u1", identity_hash=tenant.sign("u1"))
    b = await other_tenant.shopper(external_id="u1", identity_hash=other_tenant.sign("u1"))
    assert a.visitor_id != b.visitor_id
    assert a.conversation_id != b.conversation_id
    seen = await http.get(f"/api/v1/conversations/{a.conversation_id}", headers=b.headers)
    assert seen.status_code == 404


# Anonymous visitors


async def test_anonymous_visitor_token_resumes_the_same_visitor(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    first = await tenant.shopper()
    again = await session(http, tenant, visitor_token=first.token, name="Later Name")
    assert again.status_code == 200, again.text
    assert again.json()["visitor"]["id"] == first.visitor_id
    assert again.json()["visitor"]["name"] == "Later Name"
    headers = {"Authorization": f"Bearer {again.json()['token']}"}
    opened = await http.post("/api/v1/widget/conversations", headers=headers)
    assert opened.json()["id"] == first.conversation_id
    # Without the token, a new visitor.
    fresh = await session(http, tenant)
    assert fresh.json()["visitor"]["id"] != first.visitor_id


async def test_visitor_token_of_another_tenant_does_not_resume(
    http: httpx.AsyncClient, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    foreign = await other_tenant.shopper()
    response = await session(http, tenant, visitor_token=foreign.token)
    assert response.status_code == 200, response.text
    assert response.json()["visitor"]["id"] != foreign.visitor_id
    assert response.json()["tenant"]["id"] == tenant.id


async def test_agent_or_garbage_token_as_visitor_token_makes_a_new_visitor(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    for token in (tenant.agent.token, "garbage"):
        response = await session(http, tenant, visitor_token=token)
        assert response.status_code == 200, response.text
        assert response.json()["visitor"]["id"] not in (tenant.agent.id, tenant.admin.id)
        assert response.json()["visitor"]["external_id"] is None


async def test_anonymous_token_cannot_take_over_an_identified_visitor(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    identified = await tenant.shopper(external_id="vip", identity_hash=tenant.sign("vip"))
    # Someone holding the identified visitor's token but not the storefront's signature
    # (a shared computer after logout) gets a new anonymous visitor, not the history.
    response = await session(http, tenant, visitor_token=identified.token)
    assert response.status_code == 200, response.text
    anonymous = response.json()["visitor"]
    assert anonymous["id"] != identified.visitor_id
    assert anonymous["external_id"] is None
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    opened = await http.post("/api/v1/widget/conversations", headers=headers)
    assert opened.json()["id"] != identified.conversation_id
    listed = await http.get("/api/v1/conversations", headers=headers)
    assert identified.conversation_id not in [c["id"] for c in listed.json()["conversations"]]


# The shopper's open conversation


async def test_widget_conversation_is_the_same_open_one_until_closed(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper(with_conversation=False)
    first = await http.post("/api/v1/widget/conversations", headers=shopper.headers)
    second = await http.post("/api/v1/widget/conversations", headers=shopper.headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "open"
    assert first.json()["visitor"]["id"] == shopper.visitor_id

    closed = await http.post(
        f"/api/v1/conversations/{first.json()['id']}/close", headers=tenant.agent.headers
    )
    assert closed.status_code == 200
    third = await http.post("/api/v1/widget/conversations", headers=shopper.headers)
    assert third.json()["id"] != first.json()["id"]
    assert third.json()["status"] == "open"


async def test_widget_conversation_needs_a_visitor_token(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    response = await http.post("/api/v1/widget/conversations", headers=tenant.agent.headers)
    assert response.status_code == 403
    assert error_code(response) == "visitor_required"
    anonymous = await http.post("/api/v1/widget/conversations")
    assert anonymous.status_code == 401


async def test_shopper_leaves_an_email_that_agents_see(
    http: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    shopper = await tenant.shopper()
    for bad in ("not-an-address", "two@@example.com", "a@b", "x" * 400 + "@example.com"):
        refused = await http.put(
            "/api/v1/widget/contact", json={"email": bad}, headers=shopper.headers
        )
        assert refused.status_code == 422, bad
        assert error_code(refused) == "invalid_request"
    left = await http.put(
        "/api/v1/widget/contact",
        json={"email": "ana@example.com", "name": "Ana"},
        headers=shopper.headers,
    )
    assert left.status_code == 200, left.text
    assert left.json() == {"email": "ana@example.com", "name": "Ana"}
    seen = await http.get(
        f"/api/v1/conversations/{shopper.conversation_id}", headers=tenant.agent.headers
    )
    assert seen.json()["visitor"]["email"] == "ana@example.com"
    assert seen.json()["visitor"]["name"] == "Ana"
