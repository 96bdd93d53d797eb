"""Shared set-up of the call tests: a shopper and the assigned agent, live, call steps, and
aiortc peers that exchange real media through the gateway's signaling.

Every helper waits with a bound; nothing sleeps blind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.harness import RunningServer, Shopper, TenantFixture, WsClient

STEP = 10.0  # seconds any one call frame may take to arrive (a busy 2-core machine)
MEDIA = 30.0  # seconds for ICE, DTLS and the first frames


async def open_live(server: RunningServer, token: str, **resume: int) -> WsClient:
    """A connection that is following its channels (`synced` came after the subscription)."""
    ws = await WsClient.open(server, token, resume or None)
    await ws.expect("synced", STEP)
    return ws


def welcome_of(ws: WsClient) -> dict[str, Any]:
    return next(frame for frame in ws.frames if frame.get("type") == "welcome")


async def wait_for(
    ws: WsClient, match: Callable[[dict[str, Any]], bool], timeout: float = STEP
) -> dict[str, Any]:
    """The first frame received (at any time) that `match`es, waiting for it if needed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    checked = 0
    while True:
        for frame in ws.frames[checked:]:
            if match(frame):
                return frame
        checked = len(ws.frames)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f"no matching frame within {timeout}s; got {ws.frames[-5:]}")
        ws._cursor = len(ws.frames)  # read on from the newest frame
        await ws.recv(remaining)


def frame_is(frame_type: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        return frame.get("type") == frame_type and all(
            frame.get(key) == value for key, value in fields.items()
        )

    return match


async def answer_to(ws: WsClient, frame_id: str, timeout: float = STEP) -> dict[str, Any]:
    """The first frame that echoes the client id `frame_id` (an answer or an error)."""
    return await wait_for(ws, lambda frame: frame.get("id") == frame_id, timeout)


async def send_and_answer(ws: WsClient, frame: dict[str, Any]) -> dict[str, Any]:
    """Send a frame with an `id`; the first frame that echoes it (its answer or error)."""
    await ws.send(frame)
    return await answer_to(ws, frame["id"])


async def error_for(ws: WsClient, frame: dict[str, Any]) -> dict[str, Any]:
    answer = await send_and_answer(ws, frame)
    assert answer["type"] == "error", answer
    return answer


async def live_ended(ws: WsClient, call_id: str) -> dict[str, Any]:
    """The live (unstored, no seq) `call.ended` of a call."""
    return await wait_for(
        ws, lambda f: frame_is("call.ended", call_id=call_id)(f) and "seq" not in f
    )


async def stored_ended(ws: WsClient, call_id: str) -> dict[str, Any]:
    """The stored (with a seq) `call.ended` of a call, as a follower receives it."""
    return await wait_for(ws, lambda f: frame_is("call.ended", call_id=call_id)(f) and "seq" in f)


def call_frames(ws: WsClient) -> list[dict[str, Any]]:
    return [frame for frame in ws.frames if str(frame.get("type", "")).startswith("call.")]


def signals_of(ws: WsClient, call_id: str | None = None) -> list[dict[str, Any]]:
    return [
        frame
        for frame in ws.frames
        if frame.get("type") == "call.signal" and call_id in (None, frame.get("call_id"))
    ]


@dataclass
class Scene:
    """A tenant's shopper in a conversation assigned to the tenant's agent, both connected."""

    server: RunningServer
    tenant: TenantFixture
    shopper: Shopper
    shopper_ws: WsClient
    agent_ws: WsClient
    extra: list[WsClient] = field(default_factory=list)

    @property
    def cid(self) -> str:
        assert self.shopper.conversation_id is not None
        return self.shopper.conversation_id

    @property
    def http(self) -> httpx.AsyncClient:
        return self.tenant.http

    async def connect(self, token: str, **resume: int) -> WsClient:
        """Another live connection, closed with the scene."""
        ws = await open_live(self.server, token, **resume)
        self.extra.append(ws)
        return ws

    async def close(self) -> None:
        for ws in (self.shopper_ws, self.agent_ws, *self.extra):
            await ws.close()


async def assign(tenant: TenantFixture, conversation_id: str, agent_id: str) -> None:
    response = await tenant.http.post(
        f"/api/v1/conversations/{conversation_id}/assign",
        json={"agent_id": agent_id},
        headers=tenant.admin.headers,
    )
    assert response.status_code == 200, response.text


async def make_scene(
    server: RunningServer, tenant: TenantFixture, *, assigned: bool = True
) -> Scene:
    shopper = await tenant.shopper()
    assert shopper.conversation_id is not None
    if assigned:
        await assign(tenant, shopper.conversation_id, tenant.agent.id)
    shopper_ws = await open_live(server, shopper.token)
    agent_ws = await open_live(server, tenant.agent.token)
    return Scene(server, tenant, shopper, shopper_ws, agent_ws)


async def invite(
    caller: WsClient, conversation_id: str, frame_id: str, media: str = "video"
) -> dict[str, Any]:
    """Place a call: the `call.ringing` it earns (or the `call.ended` of a busy callee, or
    an `error`)."""
    return await send_and_answer(
        caller,
        {"type": "call.invite", "id": frame_id, "conversation_id": conversation_id, "media": media},
    )


async def ring(
    caller: WsClient, callee: WsClient, conversation_id: str, media: str = "video"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An invite that rings: (`call.ringing` of the caller, `call.incoming` of the callee)."""
    ringing = await invite(caller, conversation_id, f"inv-{len(caller.frames)}", media)
    assert ringing["type"] == "call.ringing", ringing
    incoming = await wait_for(callee, frame_is("call.incoming", call_id=ringing["call_id"]))
    return ringing, incoming


async def connect_call(
    caller: WsClient, callee: WsClient, conversation_id: str, media: str = "video"
) -> str:
    """Ring and accept; both sides saw `call.accepted`. The call id."""
    ringing, _ = await ring(caller, callee, conversation_id, media)
    call_id: str = ringing["call_id"]
    accepted = await send_and_answer(
        callee, {"type": "call.accept", "id": "acc-" + call_id[:8], "call_id": call_id}
    )
    assert accepted["type"] == "call.accepted", accepted
    await wait_for(caller, frame_is("call.accepted", call_id=call_id))
    return call_id


async def call_history(
    http: httpx.AsyncClient, headers: dict[str, str], conversation_id: str, call_id: str
) -> dict[str, dict[str, Any]]:
    """The stored `call.started` and `call.ended` of a call, waiting (bounded) for both."""
    deadline = asyncio.get_running_loop().time() + STEP
    while True:
        response = await http.get(
            f"/api/v1/conversations/{conversation_id}/events",
            params={"limit": 200},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        found = {
            event["type"]: event
            for event in response.json()["events"]
            if event.get("call_id") == call_id
        }
        if {"call.started", "call.ended"} <= set(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"the history of call {call_id} is incomplete: {found}")
        await asyncio.sleep(0.05)


# --- aiortc peers ----------------------------------------------------------------------


class Peer:
    """One side's RTCPeerConnection, sending aiortc's generated audio and video, signaling
    over its own WebSocket. aiortc gathers every candidate into the SDP (no trickle), and
    cannot roll back, so the caller is the only one that offers."""

    def __init__(self, ws: WsClient, call_id: str, ice_servers: list[dict[str, Any]]) -> None:
        assert ice_servers == [], "the test servers hand out no STUN/TURN servers"
        self.ws = ws
        self.call_id = call_id
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.received: dict[str, MediaStreamTrack] = {}
        self._got_track = asyncio.Event()
        self.pc.on("track", self._on_track)
        self.pc.addTrack(AudioStreamTrack())
        self.pc.addTrack(VideoStreamTrack())

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.received[track.kind] = track
        if {"audio", "video"} <= set(self.received):
            self._got_track.set()

    async def _signal(self, frame_id: str) -> None:
        description = self.pc.localDescription
        await self.ws.send(
            {
                "type": "call.signal",
                "id": frame_id,
                "call_id": self.call_id,
                "description": {"type": description.type, "sdp": description.sdp},
            }
        )

    async def offer(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self._signal("offer")

    async def answer(self) -> None:
        """Answer the caller's offer, relayed to this side's connection."""
        signal = await wait_for(
            self.ws,
            lambda f: frame_is("call.signal", call_id=self.call_id)(f) and "description" in f,
            MEDIA,
        )
        assert signal["description"]["type"] == "offer", signal
        await self.pc.setRemoteDescription(RTCSessionDescription(**signal["description"]))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self._signal("answer")

    async def take_answer(self) -> None:
        signal = await wait_for(
            self.ws,
            lambda f: (
                frame_is("call.signal", call_id=self.call_id)(f)
                and f.get("description", {}).get("type") == "answer"
            ),
            MEDIA,
        )
        await self.pc.setRemoteDescription(RTCSessionDescription(**signal["description"]))

    async def frames_received(self, kind: str, count: int) -> None:
        """Decode `count` frames of the other side's track of `kind`."""
        await asyncio.wait_for(self._got_track.wait(), MEDIA)
        track = self.received[kind]
        for _ in range(count):
            await asyncio.wait_for(track.recv(), MEDIA)

    async def packets_received(self) -> dict[str, int]:
        """`inbound-rtp.packetsReceived` by kind (aiortc's stats have no framesDecoded)."""
        report = await self.pc.getStats()
        counts: dict[str, int] = {}
        for stats in report.values():
            if stats.type == "inbound-rtp":
                counts[stats.kind] = counts.get(stats.kind, 0) + stats.packetsReceived
        return counts

    async def close(self) -> None:
        await self.pc.close()
