"""The demo store: one tenant, two agents, written to `<data dir>/demo.json`.

Idempotent: a second run finds the tenant and agents from demo.json and keeps their
passwords. The tenant's allowed origins hold "self", so the demo page works on
whatever host and port the server is started on.
"""

from __future__ import annotations

import json
import os
import secrets
from typing import Any

from sqlalchemy import select

from server.errors import NotFound
from server.runtime import Runtime
from server.scheduling.demo import demo_schedule
from server.store.models import Agent, Market, Tenant
from server.tenants import SELF_ORIGIN, create_agent, create_tenant

DEMO_TENANT_NAME = "Kefu Demo Store"
DEMO_AGENTS = (
    {"email": "li.wei@demo.kefu.test", "name": "Li Wei", "role": "admin", "language": "zh"},
    {"email": "chen.jing@demo.kefu.test", "name": "Chen Jing", "role": "agent", "language": "zh"},
)


async def ensure_demo_store(runtime: Runtime) -> dict[str, Any]:
    path = runtime.settings.ensure_data_dir() / "demo.json"
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    passwords = {a["email"]: a["password"] for a in saved.get("agents", [])}
    db = runtime.db

    async with db.read() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.name == DEMO_TENANT_NAME))
    if tenant is None:
        tenant = await create_tenant(db, DEMO_TENANT_NAME, [SELF_ORIGIN])

    agents = []
    for spec in DEMO_AGENTS:
        async with db.read() as session:
            existing = await session.scalar(select(Agent).where(Agent.email == spec["email"]))
        password = passwords.get(spec["email"])
        if existing is None or password is None:
            password = password or secrets.token_urlsafe(9)
            if existing is None:
                await create_agent(db, tenant.id, password=password, **spec)
            else:
                raise NotFound(
                    f"demo agent {spec['email']} exists but {path} lost its password; "
                    "delete the data folder to start the demo afresh"
                )
        agents.append({"email": spec["email"], "password": password, "name": spec["name"]})

    await seed_demo_scheduling(runtime, tenant.id)
    demo = {"tenant_id": tenant.id, "widget_key": tenant.widget_key, "agents": agents}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above only applies when the file is new
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)
    return demo


async def seed_demo_scheduling(runtime: Runtime, tenant_id: str) -> None:
    """The demo's agents' zones, languages, markets and shifts and its five markets
    (`server.scheduling.demo`), and routing on (setting `demo_routing`). Only what is not
    set yet is written, so changes made in the console survive a restart."""
    plan = demo_schedule()
    async with runtime.db.write() as session:
        for profile in plan.agents:
            row = await session.scalar(select(Agent).where(Agent.email == profile.agent_id))
            if row is None or row.tenant_id != tenant_id or row.schedule is not None:
                continue
            row.timezone = profile.schedule.tz
            row.languages = list(profile.languages)
            row.markets = list(profile.markets)
            row.max_chats = profile.max_chats
            row.schedule = profile.schedule.to_dict()
        known = set(await session.scalars(select(Market.code).where(Market.tenant_id == tenant_id)))
        for market in plan.markets:
            if market.code not in known:
                session.add(
                    Market(tenant_id=tenant_id, code=market.code, definition=market.to_dict())
                )
        tenant = await session.get(Tenant, tenant_id)
        if tenant is not None and "routing" not in tenant.settings:
            routing = {"enabled": runtime.settings.demo_routing, "fallback_to_language": True}
            tenant.settings = {**tenant.settings, "routing": routing}
    runtime.tenant_settings.forget(tenant_id)
