"""Limits that need a server of their own: hello timeout, rate limit, slow consumer."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.auth import Principal
from server.chat import post_message
from server.runtime import Runtime
from tests.harness import RunningServer, TenantFixture, WsClient, make_settings, new_tenant


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("kefu-tight")
    settings = make_settings(
        data_dir,
        None,
        hello_timeout_seconds=0.5,
        rate_per_second=2.0,
        rate_burst=5,
        send_queue_max=16,
        max_text_chars=60_000,
    )
    running = RunningServer(settings).start()
    yield running
    running.stop()


@pytest.fixture
async def tight_tenant(tight: RunningServer) -> AsyncIterator[TenantFixture]:
    async with httpx.AsyncClient(base_url=tight.base_url, timeout=30) as http:
        yield await new_tenant(tight, http)


async def test_silent_client_is_closed_after_hello_timeout(tight: RunningServer) -> None:
    async with connect(tight.ws_url) as connection:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


async def test_rate_limit_answers_retryable_error(
    tight: RunningServer, tight_tenant: TenantFixture
) -> None:
    ws = await WsClient.open(tight, tight_tenant.agent.token)
    for n in range(12):
        await ws.send({"type": "ping", "id": f"p{n}"})
    replies = [await ws.recv() for _ in range(12)]
    pongs = [r for r in replies if r["type"] == "pong"]
    limited = [r for r in replies if r["type"] == "error"]
    assert 5 <= len(pongs) < 12
    assert limited and all(r["code"] == "rate_limited" and r["retryable"] for r in limited)
    assert {r["id"] for r in limited} <= {f"p{n}" for n in range(12)}
    await asyncio.sleep(1.1)  # the bucket refills: the connection is usable again
    await ws.send({"type": "ping", "id": "later"})
    assert (await ws.expect("pong"))["id"] == "later"
    await ws.close()


class RawSlowClient:
    """A WebSocket client on a raw socket with a tiny receive buffer that stops reading."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, hello: dict) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", self.server.port))
        self.reader, self.writer = await asyncio.open_connection(sock=sock, limit=1 << 14)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        status = await self.reader.readuntil(b"\r\n\r\n")
        assert status.startswith(b"HTTP/1.1 101"), status
        self.send_text(json.dumps(hello))

    def send_text(self, text: str) -> None:
        assert self.writer is not None
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        length = len(payload)
        if length < 126:
            header += bytes([0x80 | length])
        elif length < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack("!H", length)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)

    async def read_all(self) -> tuple[list[dict], int | None]:
        """Read every frame until the close frame; returns (text frames, close code)."""
        assert self.reader is not None
        frames: list[dict] = []
        while True:
            first, second = await asyncio.wait_for(self.reader.readexactly(2), 30)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            payload = await self.reader.readexactly(length)
            opcode = first & 0x0F
            if opcode == 0x8:
                return frames, struct.unpack("!H", payload[:2])[0] if payload else None
            if opcode == 0x1:
                frames.append(json.loads(payload))


async def test_slow_reader_is_disconnected_with_4008_and_resumes(
    tight: RunningServer, tight_tenant: TenantFixture
) -> None:
    shopper = await tight_tenant.shopper()
    cid = shopper.conversation_id
    assert cid is not None
    ready = await WsClient.open(tight, tight_tenant.admin.token)
    slow = RawSlowClient(tight)
    await slow.open({"type": "hello", "token": tight_tenant.agent.token, "resume": {cid: 0}})
    await ready.expect("presence", agent_id=tight_tenant.agent.id)  # the slow one has joined
    principal = Principal("visitor", shopper.visitor_id, tight_tenant.id, "visitor", "V")
    text = "z" * 50_000

    async def flood(runtime: Runtime) -> int:
        """Post until the server lets go of the slow listener (kernel buffers hold MBs)."""
        listeners = runtime.hub.listener_count
        for i in range(1, 1501):
            posted = await post_message(runtime.db, principal, cid, f"f{i}", text, 60_000)
            await runtime.notifier.publish_events(
                tight_tenant.id, shopper.visitor_id, [posted.message]
            )
            await asyncio.sleep(0)
            if runtime.hub.listener_count < listeners:
                return i
        return 1500

    posted = await tight.acall(flood)
    assert posted < 1500, "the slow reader was never disconnected"
    got, close_code = await slow.read_all()
    assert close_code == 4008
    # Resuming from what it did get delivers the rest, in order, exactly once.
    seqs = [f["seq"] for f in got if f.get("type") == "message.new"]
    assert seqs == list(range(1, len(seqs) + 1))
    ws = await WsClient.open(tight, tight_tenant.agent.token, resume={cid: len(seqs)})
    await ws.expect("synced", timeout=30)
    rest = [f["seq"] for f in ws.frames if f["type"] == "message.new"]
    assert rest == list(range(len(seqs) + 1, posted + 1))
    await ws.close()
    await ready.close()
