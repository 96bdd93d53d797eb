"""Agent sign-in: email and password for an access token (and a refresh token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import CurrentAgent, RuntimeDep
from server.errors import Unauthorized
from server.store.models import Agent
from server.tenants import agent_principal, agent_public, authenticate_agent

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=4096)


def _tokens(runtime: RuntimeDep, agent: Agent) -> dict[str, Any]:
    principal = agent_principal(agent)
    settings = runtime.settings
    return {
        "access_token": runtime.signer.issue(principal, settings.access_token_ttl_seconds),
        "refresh_token": runtime.signer.issue(
            principal, settings.refresh_token_ttl_seconds, "refresh"
        ),
        "token_type": "bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "agent": agent_public(agent),
    }


@router.post("/login")
async def login(body: LoginRequest, runtime: RuntimeDep) -> dict[str, Any]:
    agent = await authenticate_agent(runtime.db, body.email, body.password)
    return _tokens(runtime, agent)


@router.post("/refresh")
async def refresh(body: RefreshRequest, runtime: RuntimeDep) -> dict[str, Any]:
    principal = runtime.signer.verify(body.refresh_token, "refresh")
    async with runtime.db.read() as session:
        agent = await session.scalar(
            select(Agent).where(Agent.id == principal.id, Agent.tenant_id == principal.tenant_id)
        )
    if agent is None or not agent.active or principal.kind != "agent":
        raise Unauthorized("this agent can no longer sign in", "invalid_token")
    return _tokens(runtime, agent)


@router.get("/me")
async def me(agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.read() as session:
        row = await session.get(Agent, agent.id)
    if row is None or row.tenant_id != agent.tenant_id:
        raise Unauthorized("this agent no longer exists", "invalid_token")
    return agent_public(row)
