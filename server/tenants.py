"""Tenants and their agents: creation, login, origins and settings.

A tenant is the unit of isolation: every query that serves a request filters by the
caller's tenant id. `allowed_origins` lists the storefront origins whose pages may use
the widget key; the entry `"self"` stands for the Kefu server's own origin, whatever
host and port it is reached on (the demo store uses it).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.auth import Principal, hash_password, verify_password
from server.errors import Conflict, NotFound, Unauthorized
from server.store import Database
from server.store.models import Agent, Tenant

SELF_ORIGIN = "self"
ROLES = ("agent", "admin")
AGENT_STATUSES = ("online", "away", "offline")


def normalize_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def origin_allowed(tenant: Tenant, origin: str, own_origin: str) -> bool:
    wanted = normalize_origin(origin)
    for allowed in tenant.allowed_origins:
        if allowed == SELF_ORIGIN and wanted == normalize_origin(own_origin):
            return True
        if allowed == "*" or normalize_origin(allowed) == wanted:
            return True
    return False


async def create_tenant(db: Database, name: str, allowed_origins: list[str]) -> Tenant:
    tenant = Tenant(
        name=name,
        widget_key="wk_" + secrets.token_urlsafe(18),
        identity_secret=secrets.token_urlsafe(32),
        allowed_origins=[o if o == SELF_ORIGIN else normalize_origin(o) for o in allowed_origins],
        settings={},
    )
    async with db.write() as session:
        session.add(tenant)
    return tenant


async def find_tenant(db: Database, ref: str) -> Tenant:
    """A tenant by id or exact name (for the CLI). A name two tenants share is refused
    (`tenant_ambiguous`) rather than guessed: an agent must never land in the wrong one."""
    async with db.read() as session:
        tenant = await session.get(Tenant, ref)
        if tenant is not None:
            return tenant
        named = list(await session.scalars(select(Tenant).where(Tenant.name == ref).limit(2)))
    if not named:
        raise NotFound(f"no tenant {ref!r}", "tenant_not_found")
    if len(named) > 1:
        raise Conflict(f"several tenants are named {ref!r}; give the tenant id", "tenant_ambiguous")
    return named[0]


async def tenant_by_widget_key(db: Database, widget_key: str) -> Tenant:
    async with db.read() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.widget_key == widget_key))
    if tenant is None:
        raise NotFound("unknown widget key", "widget_key_unknown")
    return tenant


async def create_agent(
    db: Database,
    tenant_id: str,
    email: str,
    name: str,
    password: str,
    role: str = "agent",
    language: str = "en",
) -> Agent:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    agent = Agent(
        tenant_id=tenant_id,
        email=email.strip().lower(),
        name=name,
        password_hash=hash_password(password),
        role=role,
        language=language,
        status="online",
        active=True,
    )
    try:
        async with db.write() as session:
            session.add(agent)
    except IntegrityError as exc:
        raise Conflict(f"an agent with email {email} exists", "email_taken") from exc
    return agent


async def authenticate_agent(db: Database, email: str, password: str) -> Agent:
    async with db.read() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    # Hash even when the email is unknown so timing does not tell which emails exist.
    known_hash = agent.password_hash if agent else _DUMMY_HASH
    password_ok = verify_password(known_hash, password)
    if agent is None or not password_ok or not agent.active:
        raise Unauthorized("wrong email or password", "invalid_credentials")
    return agent


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def agent_principal(agent: Agent) -> Principal:
    return Principal(
        kind="agent", id=agent.id, tenant_id=agent.tenant_id, role=agent.role, name=agent.name
    )


def agent_public(agent: Agent, connected: bool | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": agent.id,
        "email": agent.email,
        "name": agent.name,
        "role": agent.role,
        "language": agent.language,
        "status": agent.status,
        "active": agent.active,
    }
    if connected is not None:
        view["connected"] = connected
        view["online"] = connected and agent.status == "online" and agent.active
    return view


def tenant_public(tenant: Tenant, include_secrets: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": tenant.id,
        "name": tenant.name,
        "widget_key": tenant.widget_key,
        "allowed_origins": list(tenant.allowed_origins),
        "settings": dict(tenant.settings),
    }
    if include_secrets:
        view["identity_secret"] = tenant.identity_secret
    return view
