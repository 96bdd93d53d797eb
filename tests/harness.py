"""A real Kefu server on a free port in its own thread, and clients that talk to it.

`RunningServer.call(fn)` runs a coroutine on the server's own loop with its runtime,
for set-up that has no REST route (tenants are made by the CLI in real life).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from server.app import create_app
from server.auth import identity_hash
from server.config import Settings
from server.runtime import Runtime
from server.tenants import create_agent, create_tenant

T = TypeVar("T")
TIMEOUT = 10.0


class RunningServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            ws_max_size=max(4 * settings.max_frame_bytes, 1 << 20),
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def call(self, fn: Callable[[Runtime], Awaitable[T]]) -> T:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(fn(self.runtime), self.loop)
        return future.result(timeout=30)

    async def acall(self, fn: Callable[[Runtime], Awaitable[T]]) -> T:
        assert self.loop is not None
        future = asyncio.run_coroutine_threadsafe(fn(self.runtime), self.loop)
        return await asyncio.wrap_future(future)


def make_settings(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    """Test settings. Translation is off unless asked for: its events take seqs, and most
    suites count seqs exactly; tests/server/test_translation_chat.py turns it on."""
    overrides.setdefault("translation_enabled", False)
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        secret="test-secret-" + "x" * 40,
        **overrides,
    )


@dataclass
class AgentLogin:
    id: str
    email: str
    password: str
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Shopper:
    visitor_id: str
    token: str
    conversation_id: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class TenantFixture:
    """A fresh tenant with an admin and an agent, for one test's isolation."""

    server: RunningServer
    id: str
    name: str
    widget_key: str
    identity_secret: str
    origin: str
    admin: AgentLogin
    agent: AgentLogin
    http: httpx.AsyncClient = field(repr=False)

    async def shopper(self, with_conversation: bool = True, **session: Any) -> Shopper:
        body = {"widget_key": self.widget_key, **session}
        response = await self.http.post(
            "/api/v1/widget/sessions", json=body, headers={"Origin": self.origin}
        )
        assert response.status_code == 200, response.text
        data = response.json()
        shopper = Shopper(visitor_id=data["visitor"]["id"], token=data["token"])
        if with_conversation:
            conversation = await self.http.post(
                "/api/v1/widget/conversations", headers=shopper.headers
            )
            assert conversation.status_code == 200, conversation.text
            shopper.conversation_id = conversation.json()["id"]
        return shopper

    def sign(self, external_id: str) -> str:
        return identity_hash(self.identity_secret, external_id)

    async def add_agent(self, name: str, role: str = "agent") -> AgentLogin:
        return await add_agent(self.server, self.http, self.id, name, role)


_counter = iter(range(1, 1_000_000))


async def add_agent(
    server: RunningServer, http: httpx.AsyncClient, tenant_id: str, name: str, role: str = "agent"
) -> AgentLogin:
    email = f"{name.lower().replace(' ', '.')}.{next(_counter)}.{tenant_id[:6]}@test.kefu"
    password = "pw-" + email
    agent = await server.acall(
        lambda rt: create_agent(rt.db, tenant_id, email, name, password, role)
    )
    response = await http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return AgentLogin(agent.id, email, password, name, response.json()["access_token"])


async def new_tenant(
    server: RunningServer, http: httpx.AsyncClient, name: str = "Shop"
) -> TenantFixture:
    origin = f"https://{name.lower().replace(' ', '-')}-{next(_counter)}.example"
    tenant = await server.acall(lambda rt: create_tenant(rt.db, name, [origin]))
    admin = await add_agent(server, http, tenant.id, "Ada Admin", "admin")
    agent = await add_agent(server, http, tenant.id, "Li Wei")
    return TenantFixture(
        server=server,
        id=tenant.id,
        name=name,
        widget_key=tenant.widget_key,
        identity_secret=tenant.identity_secret,
        origin=origin,
        admin=admin,
        agent=agent,
        http=http,
    )


class WsClient:
    """A real WebSocket client that keeps every frame it received, in order."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self._cursor = 0

    @classmethod
    async def open(
        cls, server: RunningServer, token: str | None = None, resume: dict[str, int] | None = None
    ) -> WsClient:
        connection = await connect(server.ws_url, max_size=None, open_timeout=TIMEOUT)
        client = cls(connection)
        if token is not None:
            await client.send({"type": "hello", "token": token, "resume": resume or {}})
            await client.expect("welcome")
        return client

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        if self._cursor < len(self.frames):
            frame = self.frames[self._cursor]
        else:
            raw = await asyncio.wait_for(self.connection.recv(), timeout)
            frame = json.loads(raw)
            self.frames.append(frame)
        self._cursor += 1
        return frame

    async def expect(
        self, frame_type: str, timeout: float = TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """The next frame of this type (and fields); frames skipped on the way stay in `frames`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {frame_type} {fields} within {timeout}s")
            frame = await self.recv(remaining)
            if frame.get("type") == frame_type and all(
                frame.get(k) == v for k, v in fields.items()
            ):
                return frame

    async def seen(
        self, frame_type: str, timeout: float = TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """A frame of this type (and fields) received at any time, waiting for it if needed."""

        def match(frame: dict[str, Any]) -> bool:
            return frame.get("type") == frame_type and all(
                frame.get(k) == v for k, v in fields.items()
            )

        for frame in self.frames:
            if match(frame):
                return frame
        self._cursor = len(self.frames)
        return await self.expect(frame_type, timeout, **fields)

    async def quiet(self, seconds: float = 0.3) -> list[dict[str, Any]]:
        """Frames that arrive within `seconds` (to show that nothing more comes)."""
        got = []
        try:
            while True:
                got.append(await self.recv(seconds))
        except TimeoutError:
            return got

    async def send_message(self, conversation_id: str, text: str, client_id: str) -> dict[str, Any]:
        await self.send(
            {
                "type": "message.send",
                "id": client_id,
                "conversation_id": conversation_id,
                "text": text,
            }
        )
        while True:
            frame = await self.recv()
            if frame.get("id") == client_id and frame["type"] in ("message.ack", "error"):
                return frame

    async def close(self) -> None:
        await self.connection.close()
