"""Serving the web client: static modules, the widget iframe page, console and demo store.

The widget frame is served with `Content-Security-Policy: frame-ancestors` listing the
tenant's allowed origins, so only the tenant's storefronts can embed it; it is never
cached, so a change of those origins applies at once. The modules have no build step and
no hashed names, so browsers revalidate them (`no-cache`, answered 304 by ETag). The SDK
may be loaded as a module from any storefront, which needs CORS.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from server.errors import KefuError, NotFound
from server.runtime import Runtime
from server.tenants import SELF_ORIGIN, tenant_by_widget_key

DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web_client"
REVALIDATE = {"Cache-Control": "no-cache"}


class RevalidatedFiles(StaticFiles):
    """Static files that browsers must revalidate before reuse (cheap: ETag gives 304)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def _frame_ancestors(origins: list[str]) -> str:
    sources = []
    for origin in origins:
        if origin == SELF_ORIGIN:
            sources.append("'self'")
        else:
            sources.append(origin)
    return "frame-ancestors " + (" ".join(sources) if sources else "'none'")


def mount(app: FastAPI, web_dir: Path) -> None:
    app.mount("/static", RevalidatedFiles(directory=web_dir), name="static")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/" if app.state.demo is None else "/demo/")

    @app.get("/console/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(web_dir / "console" / "index.html", headers=REVALIDATE)

    @app.get("/widget/frame", include_in_schema=False)
    async def widget_frame(request: Request, key: str = "") -> Response:
        runtime: Runtime = request.app.state.runtime
        try:
            tenant = await tenant_by_widget_key(runtime.db, key)
        except KefuError:
            return Response("unknown widget key", status_code=404, media_type="text/plain")
        response = FileResponse(web_dir / "widget" / "frame.html")
        response.headers["Content-Security-Policy"] = _frame_ancestors(tenant.allowed_origins)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/sdk.js", include_in_schema=False)
    async def sdk() -> FileResponse:
        headers = {**REVALIDATE, "Access-Control-Allow-Origin": "*"}
        return FileResponse(
            web_dir / "sdk" / "kefu.js", media_type="text/javascript", headers=headers
        )

    @app.get("/demo/", include_in_schema=False)
    async def demo_page() -> FileResponse:
        if app.state.demo is None:
            raise NotFound("the demo store is off; start with `kefu serve --demo`")
        return FileResponse(web_dir / "demo" / "index.html", headers=REVALIDATE)

    @app.get("/demo/config.json", include_in_schema=False)
    async def demo_config() -> JSONResponse:
        if app.state.demo is None:
            raise NotFound("the demo store is off; start with `kefu serve --demo`")
        return JSONResponse({"widget_key": app.state.demo["widget_key"]})
