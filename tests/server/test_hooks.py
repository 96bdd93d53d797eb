"""Features plug in through hooks: extra frames, after-post listeners, welcome fields."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tests.harness import RunningServer, TenantFixture, WsClient


class EchoFrame(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["test.echo"]
    word: str


async def test_hooks_extend_the_gateway(server: RunningServer, tenant: TenantFixture) -> None:
    hooks = server.runtime.hooks
    posted: list[tuple[str, int]] = []
    seen = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def echo(session: Any, frame: EchoFrame) -> None:
        session.outbox.send({"type": "test.echoed", "word": frame.word.upper()})

    async def record(runtime: Any, principal: Any, result: Any) -> None:
        posted.append((principal.id, result.message.seq))
        loop.call_soon_threadsafe(seen.set)

    async def extra(session: Any) -> dict[str, Any]:
        return {"test_extra": session.principal.kind}

    async def install(_runtime: Any) -> None:
        hooks.add_frame("test.echo", EchoFrame, echo)
        hooks.after_post.append(record)
        hooks.welcome_extras.append(extra)

    async def uninstall(_runtime: Any) -> None:
        del hooks.client_frames["test.echo"], hooks.frame_handlers["test.echo"]
        hooks.after_post.remove(record)
        hooks.welcome_extras.remove(extra)

    await server.acall(install)
    try:
        shopper = await tenant.shopper()
        ws = await WsClient.open(server, shopper.token)
        assert ws.frames[0]["test_extra"] == "visitor"
        await ws.send({"type": "test.echo", "word": "ni hao"})
        assert (await ws.expect("test.echoed"))["word"] == "NI HAO"
        await ws.send({"type": "test.echo", "word": 3})
        assert (await ws.expect("error"))["code"] == "invalid_frame"
        ack = await ws.send_message(shopper.conversation_id, "hi", "h1")
        await asyncio.wait_for(seen.wait(), 10)
        assert posted == [(shopper.visitor_id, ack["seq"])]
        await ws.send_message(shopper.conversation_id, "hi", "h1")  # a resend is not new
        await asyncio.sleep(0.2)
        assert len(posted) == 1
        await ws.close()
    finally:
        await server.acall(uninstall)
