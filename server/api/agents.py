"""Agents of the caller's tenant: the team list with presence, and admin management."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import CurrentAdmin, CurrentAgent, RuntimeDep
from server.auth import hash_password
from server.bus import Message
from server.connection import person_address
from server.errors import Conflict, Forbidden, NotFound
from server.events import staff_channel
from server.protocol import error_frame
from server.runtime import Runtime
from server.store.models import Agent, Tenant
from server.tenants import agent_public, create_agent

router = APIRouter(prefix="/api/v1/agents", tags=["agents"])

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]


class AgentCreate(BaseModel):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["agent", "admin"] = "agent"
    language: Language = "en"


class AgentUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    language: Language | None = None
    role: Literal["agent", "admin"] | None = None
    active: bool | None = None


class PresenceUpdate(BaseModel):
    status: Literal["online", "away", "offline"]


@router.get("")
async def list_agents(agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    connected = await runtime.presence.connected_agents(agent.tenant_id)
    async with runtime.db.read() as session:
        rows = await session.scalars(
            select(Agent).where(Agent.tenant_id == agent.tenant_id).order_by(Agent.name)
        )
        return {"agents": [agent_public(row, row.id in connected) for row in rows]}


@router.post("", status_code=201)
async def add_agent(body: AgentCreate, admin: CurrentAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    created = await create_agent(
        runtime.db, admin.tenant_id, body.email, body.name, body.password, body.role, body.language
    )
    return agent_public(created)


@router.put("/me/presence")
async def set_presence(
    body: PresenceUpdate, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    """Choose online, away or offline; `online` in the answer also needs a live connection."""
    async with runtime.db.write() as session:
        row = await session.get(Agent, agent.id)
        if row is None or row.tenant_id != agent.tenant_id:
            raise NotFound("no such agent", "agent_not_found")
        row.status = body.status
    connected = agent.id in await runtime.presence.connected_agents(agent.tenant_id)
    view = agent_public(row, connected)
    await runtime.notifier.publish_ephemeral(
        agent.tenant_id,
        None,
        None,
        {
            "type": "presence",
            "agent_id": row.id,
            "name": row.name,
            "status": row.status,
            "connected": connected,
            "online": view["online"],
        },
        to_visitor=False,
    )
    return view


@router.patch("/{agent_id}")
async def update_agent(
    agent_id: str, body: AgentUpdate, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    """Admins change anyone in their tenant; an agent may change their own name,
    language and password. The tenant's last active admin cannot be demoted or
    deactivated (409 `last_admin`); a deactivated agent's open connections end at once."""
    if agent_id != agent.id:
        agent.require_admin()
    if not agent.is_admin and (body.role is not None or body.active is not None):
        raise Forbidden("only an admin changes roles or deactivates", "admin_required")
    async with runtime.db.write() as session:
        row = await session.get(Agent, agent_id)
        if row is None or row.tenant_id != agent.tenant_id:
            raise NotFound("no such agent", "agent_not_found")
        if row.role == "admin" and row.active and (body.role == "agent" or body.active is False):
            await _keep_an_admin(session, row)
        for key in ("name", "language", "role", "active"):
            value = getattr(body, key)
            if value is not None:
                setattr(row, key, value)
        if body.password is not None:
            row.password_hash = hash_password(body.password)
    if body.active is False:
        await end_agent_connections(runtime, row.tenant_id, row.id)
    return agent_public(row)


async def _keep_an_admin(session: AsyncSession, leaving: Agent) -> None:
    """Refuse to demote or deactivate the tenant's last active admin (nobody could then
    manage it). The tenant's row is locked first, so two admins demoting each other at
    once cannot both succeed."""
    await session.execute(select(Tenant.id).where(Tenant.id == leaving.tenant_id).with_for_update())
    others = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(
            Agent.tenant_id == leaving.tenant_id,
            Agent.role == "admin",
            Agent.active.is_(True),
            Agent.id != leaving.id,
        )
    )
    if not others:
        raise Conflict("the tenant needs at least one active admin", "last_admin")


async def end_agent_connections(runtime: Runtime, tenant_id: str, agent_id: str) -> None:
    """Close every open connection of a deactivated agent, on every node: each gets an
    `error {code: agent_deactivated}` and close 4003 (their tokens are refused already)."""
    frame = error_frame("agent_deactivated", "this account was deactivated by an admin")
    envelope: Message = {
        "conversation_id": None,
        "seq": None,
        "frame": frame,
        "ts": time.time(),
        "to": [person_address("agent", agent_id)],
        "revoke": True,
    }
    await runtime.bus.publish(staff_channel(tenant_id), envelope)
