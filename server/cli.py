"""The `kefu` command: serve, db upgrade, tenant create, agent create."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import secrets
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from server.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for key in ("host", "port", "data_dir", "database_url", "workers"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    if getattr(args, "demo", False):
        overrides["demo"] = True
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app
    from server.logs import configure_json_logging

    settings = _settings(args)
    log_config: dict[str, Any] | None = None
    if settings.log_format == "json":
        log_config = configure_json_logging(settings.log_level)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "ws_max_size": max(4 * settings.max_frame_bytes, 1 << 20),
        "ws_ping_interval": 20,
        "ws_ping_timeout": 20,
        "ws_per_message_deflate": settings.ws_compression,
    }
    if log_config is not None:
        options["log_config"] = log_config
    if settings.workers > 1:
        return _serve_workers(settings, options)

    app = create_app(settings)
    # The app has a lifespan, so `on_event("startup")` hooks would never run: wrap the
    # lifespan instead, and announce once the store is migrated and the demo is seeded.
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def announcing(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            _announce(settings, app.state.demo)
            yield state

    app.router.lifespan_context = announcing
    uvicorn.run(app, **options)
    return 0


def _serve_workers(settings: Settings, options: dict[str, Any]) -> int:
    """`--workers N`: uvicorn's process manager runs N copies of the app on one port.

    The workers build their settings from the environment, so the command line's choices
    are handed down as `KEFU_*` variables. The secret is made and the schema migrated here,
    once, before any worker starts, so the workers never race for either."""
    import os

    import uvicorn

    from server.config import load_or_create_secret
    from server.store.migrate import upgrade

    if not settings.redis_url:
        raise SystemExit("--workers above 1 needs KEFU_REDIS_URL: workers share the bus in Redis")
    if settings.demo:
        raise SystemExit("--demo runs in one process; drop --workers")
    settings.ensure_data_dir()
    secret = load_or_create_secret(settings)
    upgrade(settings.resolved_database_url)
    os.environ.update(
        {
            "KEFU_HOST": settings.host,
            "KEFU_PORT": str(settings.port),
            "KEFU_DATA_DIR": str(settings.data_dir),
            "KEFU_DATABASE_URL": settings.resolved_database_url,
            "KEFU_SECRET": secret,
            "KEFU_WORKERS": "1",
        }
    )
    _announce(settings, None)
    uvicorn.run("server.app:create_app", factory=True, workers=settings.workers, **options)
    return 0


def _announce(settings: Settings, demo: dict[str, Any] | None) -> None:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://{host}:{settings.port}"
    lines = [f"Kefu is serving on {base}"]
    if demo is not None:
        lines += [
            f"  demo storefront: {base}/demo/",
            f"  agent console:   {base}/console/",
            f"  API docs:        {base}/docs",
            "  demo agents:",
            *(f"    {a['name']}: {a['email']} / {a['password']}" for a in demo["agents"]),
            f"  (also in {settings.data_dir / 'demo.json'})",
        ]
    else:
        lines += [f"  agent console:   {base}/console/", f"  API docs:        {base}/docs"]
    print("\n".join(lines), flush=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from server.store.migrate import upgrade

    settings = _settings(args)
    settings.ensure_data_dir()
    upgrade(settings.resolved_database_url)
    print("database is at the newest schema")
    return 0


async def _with_db(settings: Settings, work: Callable[[Any], Awaitable[Any]]) -> Any:
    from server.store import Database
    from server.store.migrate import upgrade

    settings.ensure_data_dir()
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    db = Database(settings.resolved_database_url)
    try:
        return await work(db)
    finally:
        await db.dispose()


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from server.tenants import create_tenant, tenant_public

    async def work(db: Any) -> dict[str, Any]:
        tenant = await create_tenant(db, args.name, args.origin or [])
        return tenant_public(tenant, include_secrets=True)

    print(json.dumps(asyncio.run(_with_db(_settings(args), work)), indent=2))
    return 0


def cmd_agent_create(args: argparse.Namespace) -> int:
    from server.tenants import agent_public, create_agent, find_tenant

    password = args.password
    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("password for the new agent: ")
        else:
            password, generated = secrets.token_urlsafe(12), True
    if len(password) < 8:
        print("error: the password needs at least 8 characters", file=sys.stderr)
        return 2

    async def work(db: Any) -> dict[str, Any]:
        tenant = await find_tenant(db, args.tenant)
        agent = await create_agent(
            db, tenant.id, args.email, args.name, password, args.role, args.language
        )
        return agent_public(agent)

    result = asyncio.run(_with_db(_settings(args), work))
    if generated:
        result["password"] = password
    print(json.dumps(result, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", dest="data_dir", help="data folder (KEFU_DATA_DIR)")
    common.add_argument("--database-url", dest="database_url", help="KEFU_DATABASE_URL")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", help="address to bind (KEFU_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (KEFU_PORT, default 8000)")
    serve.add_argument("--demo", action="store_true", help="seed and serve the demo store")
    serve.add_argument(
        "--workers", type=int, help="processes on this port (KEFU_WORKERS; >1 needs Redis)"
    )
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    db_upgrade = db.add_parser("upgrade", parents=[common], help="apply migrations")
    db_upgrade.set_defaults(func=cmd_db_upgrade)

    tenant = commands.add_parser("tenant", help="tenants").add_subparsers(
        dest="tenant_command", required=True
    )
    tenant_create = tenant.add_parser("create", parents=[common], help="create a tenant")
    tenant_create.add_argument("name")
    tenant_create.add_argument(
        "--origin", action="append", help="allowed storefront origin (repeatable; 'self' = Kefu)"
    )
    tenant_create.set_defaults(func=cmd_tenant_create)

    agent = commands.add_parser("agent", help="agents").add_subparsers(
        dest="agent_command", required=True
    )
    agent_create = agent.add_parser("create", parents=[common], help="create an agent")
    agent_create.add_argument("--tenant", required=True, help="tenant id or name")
    agent_create.add_argument("--email", required=True)
    agent_create.add_argument("--name", required=True)
    agent_create.add_argument("--password", help="default: prompt, or generate when piped")
    agent_create.add_argument("--role", choices=["agent", "admin"], default="agent")
    agent_create.add_argument("--language", default="en")
    agent_create.set_defaults(func=cmd_agent_create)

    from server.translate_cli import add_translate_commands

    add_translate_commands(commands, common, _settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    from server.errors import KefuError
    from translation.errors import TranslationError

    try:
        return int(args.func(args))
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        for problem in exc.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "settings"
            print(f"error: setting {name} (KEFU_{name.upper()}): {problem['msg']}", file=sys.stderr)
        return 2
    except KefuError as exc:
        print(f"error: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    except TranslationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
