"""The caller's tenant: its widget key and origins; admins also see and change secrets."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from server.api.deps import CurrentAdmin, CurrentAgent, RuntimeDep
from server.errors import NotFound
from server.store.models import Tenant
from server.tenants import SELF_ORIGIN, normalize_origin, tenant_public

router = APIRouter(prefix="/api/v1/tenant", tags=["tenant"])

Origin = Annotated[
    str, StringConstraints(pattern=r"^(self|\*|https?://[^/\s]+)/?$", max_length=300)
]


class TenantUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_origins: list[Origin] | None = Field(default=None, max_length=100)
    settings: dict[str, Any] | None = None


@router.get("")
async def get_tenant(agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.read() as session:
        tenant = await session.get(Tenant, agent.tenant_id)
    if tenant is None:
        raise NotFound("no such tenant", "tenant_not_found")
    return tenant_public(tenant, include_secrets=agent.is_admin)


@router.patch("")
async def update_tenant(
    body: TenantUpdate, admin: CurrentAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    async with runtime.db.write() as session:
        tenant = await session.get(Tenant, admin.tenant_id)
        if tenant is None:
            raise NotFound("no such tenant", "tenant_not_found")
        if body.name is not None:
            tenant.name = body.name
        if body.allowed_origins is not None:
            tenant.allowed_origins = [
                o if o in (SELF_ORIGIN, "*") else normalize_origin(o) for o in body.allowed_origins
            ]
        if body.settings is not None:
            tenant.settings = {**tenant.settings, **body.settings}
    runtime.tenant_settings.forget(admin.tenant_id)
    return tenant_public(tenant, include_secrets=True)


@router.post("/identity-secret/rotate")
async def rotate_identity_secret(admin: CurrentAdmin, runtime: RuntimeDep) -> dict[str, Any]:
    """A new identity secret; identities signed with the old one stop working at once."""
    async with runtime.db.write() as session:
        tenant = await session.get(Tenant, admin.tenant_id)
        if tenant is None:
            raise NotFound("no such tenant", "tenant_not_found")
        tenant.identity_secret = secrets.token_urlsafe(32)
    return tenant_public(tenant, include_secrets=True)
