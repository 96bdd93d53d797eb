"""A node that shuts down ends its live calls `failed` and stores that: a server started
again on the same data shows the call's `call.ended` in the conversation's history."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.calls.support import call_history, connect_call, make_scene
from tests.harness import RunningServer, make_settings, new_tenant


async def test_shutdown_ends_live_calls_failed_and_stores_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    server = RunningServer(settings).start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            tenant = await new_tenant(server, http, "Closing Shop")
            scene = await make_scene(server, tenant)
            call_id = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "video")
    finally:
        server.stop()
    assert not server.thread.is_alive()
    await scene.close()

    again = RunningServer(make_settings(tmp_path, None)).start()
    try:
        async with httpx.AsyncClient(base_url=again.base_url, timeout=30) as http:
            history = await call_history(http, tenant.agent.headers, scene.cid, call_id)
    finally:
        again.stop()
    ended = history["call.ended"]
    assert ended["reason"] == "failed"
    assert ended["by"]["type"] == "system"
    assert ended["answered_at"] is not None
    assert history["call.started"]["seq"] < ended["seq"]
