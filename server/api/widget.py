"""Shopper sessions for the widget: a visitor token from a widget key, checked by origin.

The caller's `Origin` must be one of the tenant's allowed origins. When the caller is
Kefu's own widget iframe (Origin = this server), the iframe passes `host_origin`, the
storefront page it is embedded in (which it learns from the browser-checked origin of
the SDK's postMessage), and that must be allowed instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from server.api.deps import CurrentPrincipal, RuntimeDep, own_origin
from server.conversations import conversation_summary
from server.errors import Forbidden
from server.scheduling.localtime import zone
from server.store.models import Tenant
from server.tenants import normalize_origin, origin_allowed, tenant_by_widget_key
from server.translating import DEFAULT_LANGUAGES
from server.visitors import (
    open_conversation_for,
    open_visitor_session,
    own_visitor_row,
    visitor_principal,
)

router = APIRouter(prefix="/api/v1/widget", tags=["widget"])


class SessionRequest(BaseModel):
    widget_key: str = Field(min_length=1, max_length=64)
    host_origin: str | None = Field(default=None, max_length=300)
    visitor_token: str | None = Field(default=None, max_length=4096)
    external_id: str | None = Field(default=None, min_length=1, max_length=200)
    identity_hash: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    language: str | None = Field(default=None, max_length=16)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    """The shopper's IANA zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`)."""
    market: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,8}$")
    """The storefront's market code for this shopper (e.g. "US"), for routing."""


def check_origin(request: Request, tenant: Tenant, host_origin: str | None) -> None:
    origin = request.headers.get("origin")
    if not origin:
        raise Forbidden("an Origin header is required", "origin_not_allowed")
    own = own_origin(request)
    if normalize_origin(origin) == normalize_origin(own) and host_origin:
        origin = host_origin
    if not origin_allowed(tenant, origin, own):
        raise Forbidden(f"origin {origin} may not use this widget key", "origin_not_allowed")


@router.post("/sessions")
async def create_session(
    body: SessionRequest, request: Request, runtime: RuntimeDep
) -> dict[str, Any]:
    tenant = await tenant_by_widget_key(runtime.db, body.widget_key)
    check_origin(request, tenant, body.host_origin)
    if body.timezone is not None:
        zone(body.timezone)  # unknown_time_zone (400) rather than a zone nobody can read
    visitor = await open_visitor_session(
        runtime.db,
        runtime.signer,
        tenant,
        body.visitor_token,
        body.external_id,
        body.identity_hash,
        body.name,
        body.email,
        body.language,
        timezone=body.timezone,
        market=body.market.upper() if body.market else None,
    )
    principal = visitor_principal(visitor)
    return {
        "token": runtime.signer.issue(principal, runtime.settings.visitor_token_ttl_seconds),
        "expires_in": runtime.settings.visitor_token_ttl_seconds,
        "visitor": {
            "id": visitor.id,
            "name": visitor.name,
            "email": visitor.email,
            "external_id": visitor.external_id,
            "language": visitor.language,
            "timezone": visitor.timezone,
            "market": visitor.market,
        },
        "tenant": {
            "id": tenant.id,
            "name": tenant.name,
            # The languages the store serves: the widget's "Read in" choices.
            "languages": tenant.settings.get("languages") or list(DEFAULT_LANGUAGES),
        },
    }


@router.post("/conversations")
async def open_conversation(principal: CurrentPrincipal, runtime: RuntimeDep) -> dict[str, Any]:
    """The shopper's open conversation, created if there is none."""
    if principal.kind != "visitor":
        raise Forbidden("this needs a visitor token", "visitor_required")
    conversation, _created = await open_conversation_for(runtime.db, principal)
    return await conversation_summary(runtime.db, principal, conversation.id)


EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"


class ContactRequest(BaseModel):
    email: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)


@router.put("/contact")
async def leave_contact(
    body: ContactRequest, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    """The shopper leaves an email address (the offline auto-reply offers it), so agents
    can answer by email too; agents see it with the conversation."""
    async with runtime.db.write() as session:
        visitor = await own_visitor_row(session, principal)
        visitor.email = body.email
        if body.name:
            visitor.name = body.name
    return {"email": visitor.email, "name": visitor.name}
