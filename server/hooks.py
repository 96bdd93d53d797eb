"""Extension points: where features plug into the gateway without editing it.

Translation, routing and calls each live in their own module with an
`install(runtime)` that registers here; `app.py` installs them at startup. The gateway
and the REST routers call the hooks at fixed moments:

- `client_frames` / `frame_handlers`: extra client frame types and their handlers;
- `after_post`: after a new message was committed, acked and published (in the
  background: a slow listener never delays an ack);
- `after_change`: after an assignment or status change was committed and published;
- `on_presence`: when an agent's first connection opens or last one closes;
- `on_session_open` / `on_session_close`: every authenticated WebSocket;
- `welcome_extras`: fields merged into `welcome` (e.g. ICE servers);
- `background`: long-running loops started with the node and cancelled at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from server.auth import Principal
    from server.chat import Posted
    from server.gateway import Session
    from server.runtime import Runtime
    from server.store.models import Conversation, Event

log = logging.getLogger(__name__)

Job = Coroutine[Any, Any, None]
FrameHandler = Callable[["Session", Any], Awaitable[None]]
PostListener = Callable[["Runtime", "Principal", "Posted"], Job]
ChangeListener = Callable[["Runtime", "Principal | None", "Conversation", "list[Event]"], Job]
PresenceListener = Callable[["Runtime", str, str, bool], Job]
SessionListener = Callable[["Session"], Awaitable[None]]
WelcomeExtra = Callable[["Session"], Awaitable[dict[str, Any]]]
BackgroundLoop = Callable[[], Coroutine[Any, Any, None]]


@dataclass
class Hooks:
    client_frames: dict[str, type[BaseModel]] = field(default_factory=dict)
    frame_handlers: dict[str, FrameHandler] = field(default_factory=dict)
    after_post: list[PostListener] = field(default_factory=list)
    after_change: list[ChangeListener] = field(default_factory=list)
    on_presence: list[PresenceListener] = field(default_factory=list)
    on_session_open: list[SessionListener] = field(default_factory=list)
    on_session_close: list[SessionListener] = field(default_factory=list)
    welcome_extras: list[WelcomeExtra] = field(default_factory=list)
    background: list[BackgroundLoop] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def add_frame(self, name: str, model: type[BaseModel], handler: FrameHandler) -> None:
        """A new client frame type: its pydantic model (with `type: Literal[name]`) and handler."""
        if name in self.client_frames:
            raise ValueError(f"frame type {name!r} is registered twice")
        self.client_frames[name] = model
        self.frame_handlers[name] = handler

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        """Run `work` in the background, logged if it fails, cancelled at shutdown."""

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background %s failed", what)

        task = asyncio.create_task(guarded(), name=what)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def start_background(self) -> None:
        for loop in self.background:
            self.spawn(loop(), getattr(loop, "__name__", "background loop"))

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait for the background work running now (tests and shutdown use it)."""
        while tasks := [t for t in self._tasks if not t.done()]:
            await asyncio.wait(tasks)
