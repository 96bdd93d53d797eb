"""`create_app(settings)`: routes, error handlers and the lifespan that builds the node.

Startup order: migrate the store (Alembic), open it, start the bus, seed the demo store
if asked. Nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from server import gateway, web
from server.api import agents, auth, calls, conversations, scheduling, tenant, translation, widget
from server.auth import TokenSigner
from server.bus import Bus, Leases, Presence
from server.bus.memory import MemoryBus, MemoryLeases, MemoryPresence
from server.calls import install as install_calls
from server.config import Settings, load_or_create_secret
from server.errors import KefuError
from server.logs import request_id
from server.routing import install as install_routing
from server.runtime import Runtime
from server.store import Database
from server.store.migrate import upgrade

log = logging.getLogger(__name__)


def _bus_and_presence(
    settings: Settings, node_id: str, on_reconnect: Callable[[], Coroutine[Any, Any, None]]
) -> tuple[Bus, Presence, Leases]:
    if settings.redis_url:
        from server.bus.redis import RedisBus, RedisLeases, RedisPresence

        return (
            RedisBus(settings.redis_url, on_reconnect=on_reconnect),
            RedisPresence(settings.redis_url, node_id=node_id),
            RedisLeases(settings.redis_url),
        )
    return MemoryBus(), MemoryPresence(), MemoryLeases()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_data_dir()
        url = settings.resolved_database_url
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        node_id = uuid.uuid4().hex[:12]
        bus, presence, leases = _bus_and_presence(
            settings, node_id, lambda: app.state.runtime.resync_all()
        )
        await bus.start()
        await presence.start()
        await leases.start()
        runtime = Runtime(
            settings=settings,
            db=db,
            bus=bus,
            presence=presence,
            leases=leases,
            node_id=node_id,
            signer=TokenSigner(load_or_create_secret(settings)),
        )
        app.state.runtime = runtime
        if settings.translation_enabled:
            from server.translating import install as install_translation

            app.state.translator = install_translation(runtime)
        app.state.routing = install_routing(runtime)
        app.state.calls = install_calls(runtime)
        runtime.hooks.start_background()
        if settings.demo:
            from server.demo import ensure_demo_store

            app.state.demo = await ensure_demo_store(runtime)
        try:
            yield
        finally:
            await runtime.hooks.stop()
            if app.state.translator is not None:
                await app.state.translator.service.aclose()
            await leases.close()
            await presence.close()
            await bus.close()
            await db.dispose()

    app = FastAPI(
        title="Kefu",
        version="0.1.0",
        description="Real-time customer service for cross-border e-commerce. "
        "The WebSocket protocol is described in docs/protocol.md.",
        lifespan=lifespan,
    )
    app.state.demo = None
    app.state.translator = None
    app.state.calls = None

    @app.exception_handler(KefuError)
    async def kefu_error(_request: Request, exc: KefuError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "retryable": exc.retryable}}
        return JSONResponse(body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{where}: {first.get('msg')}"
        return JSONResponse(
            {"error": {"code": "invalid_request", "message": message, "retryable": False}},
            status_code=422,
        )

    @app.middleware("http")
    async def tag_request(request: Request, call_next: Any) -> Any:
        incoming = request.headers.get("x-request-id", "")
        rid = incoming if 0 < len(incoming) <= 64 else uuid.uuid4().hex[:16]
        request_id.set(rid)
        response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str | int]:
        """The process is alive (`pid`: which process answered, under `--workers`)."""
        return {"status": "ok", "pid": os.getpid()}

    @app.get("/readyz", tags=["operations"])
    async def readyz(request: Request) -> JSONResponse:
        """The store and the bus are reachable; 503 with what is not."""
        runtime: Runtime = request.app.state.runtime
        checks: dict[str, str] = {}
        for name, probe in (("store", runtime.db.ping), ("bus", runtime.bus.ping)):
            try:
                await asyncio.wait_for(probe(), 3)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unreachable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)

    for router in (
        auth.router,
        widget.router,
        conversations.router,
        agents.router,
        tenant.router,
        translation.router,
        scheduling.router,
        calls.router,
    ):
        app.include_router(router)
    app.include_router(gateway.router)
    web.mount(app, Path(settings.web_dir) if settings.web_dir else web.DEFAULT_WEB_DIR)
    return app
