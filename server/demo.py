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
from server.store.models import Agent, Tenant
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

    demo = {"tenant_id": tenant.id, "widget_key": tenant.widget_key, "agents": agents}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # the mode above only applies when the file is new
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2)
    return demo
