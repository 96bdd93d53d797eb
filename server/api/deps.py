"""Dependencies that make route signatures read like sentences: `agent: CurrentAgent`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.auth import Principal
from server.errors import Unauthorized
from server.runtime import Runtime
from server.store.models import Agent

_bearer = HTTPBearer(auto_error=False)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller. An agent is taken as the store has them now, not as their token
    remembers them: a deactivated agent is refused at once, a changed role applies at once."""
    if credentials is None:
        raise Unauthorized("send 'Authorization: Bearer <token>'", "unauthorized")
    principal = runtime.signer.verify(credentials.credentials)
    if principal.kind != "agent":
        return principal
    async with runtime.db.read() as session:
        agent = await session.get(Agent, principal.id)
    if agent is None or agent.tenant_id != principal.tenant_id or not agent.active:
        raise Unauthorized("this agent can no longer sign in", "invalid_token")
    return Principal("agent", agent.id, agent.tenant_id, agent.role, agent.name)


def get_agent(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    principal.require_staff()
    return principal


def get_admin(principal: Annotated[Principal, Depends(get_agent)]) -> Principal:
    principal.require_admin()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
CurrentAgent = Annotated[Principal, Depends(get_agent)]
CurrentAdmin = Annotated[Principal, Depends(get_admin)]


def own_origin(request: Request) -> str:
    """This server's origin as the caller reached it (scheme://host[:port])."""
    return str(request.base_url).rstrip("/")
