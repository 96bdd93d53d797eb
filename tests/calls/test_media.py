"""Two aiortc peers call each other through the real gateway: media flows both ways.

The shopper and the agent each have their own WebSocket; the gateway rings, relays the
offer and the answer (only to the bound connection of the other side), and ends the call
for both when one hangs up. Media goes peer to peer over loopback: aiortc's generated
audio and video (no files, no devices). Frames are counted with `track.recv()` and
packets with `getStats()` (aiortc has no framesDecoded).
"""

from __future__ import annotations

import pytest

from tests.calls.support import (
    Peer,
    call_history,
    connect_call,
    frame_is,
    live_ended,
    make_scene,
    send_and_answer,
    signals_of,
    wait_for,
)
from tests.harness import RunningServer, TenantFixture


@pytest.mark.parametrize("caller_side", ["shopper", "agent"])
async def test_media_flows_both_ways_and_hang_up_ends_it_for_both(
    server: RunningServer, tenant: TenantFixture, caller_side: str
) -> None:
    scene = await make_scene(server, tenant)
    colleague = await tenant.add_agent("Colleague")
    colleague_ws = await scene.connect(colleague.token)
    # The shopper's second tab and the agent's second tab ring too but take no part.
    shopper_tab = await scene.connect(scene.shopper.token)
    agent_tab = await scene.connect(tenant.agent.token)
    caller, callee = scene.shopper_ws, scene.agent_ws
    if caller_side == "agent":
        caller, callee = callee, caller
    caller_tab = shopper_tab if caller is scene.shopper_ws else agent_tab
    peers: list[Peer] = []
    try:
        call_id = await connect_call(caller, callee, scene.cid, "video")
        for ws in (shopper_tab, agent_tab):
            await wait_for(ws, frame_is("call.accepted", call_id=call_id))
        offerer = Peer(caller, call_id, ice_servers=[])
        answerer = Peer(callee, call_id, ice_servers=[])
        peers = [offerer, answerer]

        await offerer.offer()
        await answerer.answer()
        await offerer.take_answer()

        for peer in peers:
            for kind in ("video", "audio"):
                await peer.frames_received(kind, 10)
            packets = await peer.packets_received()
            assert packets.get("video", 0) > 0, packets
            assert packets.get("audio", 0) > 0, packets

        # Signals reached the other side's bound connection and nobody else.
        assert [s["description"]["type"] for s in signals_of(callee, call_id)] == ["offer"]
        assert [s["description"]["type"] for s in signals_of(caller, call_id)] == ["answer"]
        for ws in (colleague_ws, shopper_tab, agent_tab):
            assert signals_of(ws) == []
        # A colleague of the agent is not told about the call at all.
        assert not any(
            f["type"].startswith("call.") and "seq" not in f for f in colleague_ws.frames
        )

        # Another tab of the caller holds no peer connection: its signals are refused.
        refused = await send_and_answer(
            caller_tab,
            {
                "type": "call.signal",
                "id": "other-tab",
                "call_id": call_id,
                "candidate": {"candidate": "", "sdpMid": "0"},
            },
        )
        assert refused["code"] == "signal_not_allowed", refused

        hangup = await send_and_answer(
            caller, {"type": "call.hangup", "id": "bye", "call_id": call_id}
        )
        assert hangup["type"] == "call.ended", hangup
        assert hangup["reason"] == "hung_up"
        assert hangup["by"]["id"] == (
            scene.shopper.visitor_id if caller_side == "shopper" else tenant.agent.id
        )
        ended = await live_ended(callee, call_id)
        assert ended["reason"] == "hung_up"
        assert ended["answered_at"] is not None
        assert ended["duration_seconds"] >= 0
        for ws in (shopper_tab, agent_tab):
            await live_ended(ws, call_id)

        history = await call_history(scene.http, tenant.agent.headers, scene.cid, call_id)
        started, stored_end = history["call.started"], history["call.ended"]
        assert started["seq"] < stored_end["seq"]
        assert started["media"] == "video"
        assert started["caller"]["type"] == ("visitor" if caller_side == "shopper" else "agent")
        assert stored_end["reason"] == "hung_up"
        assert stored_end["duration_seconds"] == ended["duration_seconds"]

        # A late frame after the end is answered with `call_ended`, not silently dropped.
        late = await send_and_answer(
            callee, {"type": "call.hangup", "id": "late", "call_id": call_id}
        )
        assert late["code"] == "call_ended", late
    finally:
        for peer in peers:
            await peer.close()
        await scene.close()


async def test_a_new_call_after_one_ended_connects_again(
    server: RunningServer, tenant: TenantFixture
) -> None:
    """The registry forgets an ended call's participants: the same two call again."""
    scene = await make_scene(server, tenant)
    try:
        first = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "audio")
        await send_and_answer(scene.agent_ws, {"type": "call.hangup", "id": "h1", "call_id": first})
        await live_ended(scene.shopper_ws, first)
        second = await connect_call(scene.agent_ws, scene.shopper_ws, scene.cid, "audio")
        assert second != first
        offerer = Peer(scene.agent_ws, second, ice_servers=[])
        answerer = Peer(scene.shopper_ws, second, ice_servers=[])
        try:
            await offerer.offer()
            await answerer.answer()
            await offerer.take_answer()
            await answerer.frames_received("audio", 5)
            await offerer.frames_received("audio", 5)
        finally:
            await offerer.close()
            await answerer.close()
        await send_and_answer(
            scene.shopper_ws, {"type": "call.hangup", "id": "h2", "call_id": second}
        )
        await live_ended(scene.agent_ws, second)
    finally:
        await scene.close()
