"""Calls that end by themselves, on a server with a short ring timeout and reconnect grace:
nobody answers (`missed`), a lost connection never comes back (`dropped`), a ringing
caller's connection closes (`dropped` at once). The history (`call.started`,
`call.ended` with seqs) is replayed to a client that reconnects. The server also hands out
coturn TURN credentials, checked here the way coturn checks them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from signaling.ice import verify_turn_credential
from tests.calls.conftest import ICE_URLS, RECONNECT_GRACE, RING_TIMEOUT, TURN_SECRET, TURN_TTL
from tests.calls.support import (
    STEP,
    call_history,
    connect_call,
    frame_is,
    live_ended,
    make_scene,
    open_live,
    ring,
    send_and_answer,
    stored_ended,
    wait_for,
    welcome_of,
)
from tests.harness import RunningServer, TenantFixture

# Long enough for the deadline to pass and the timer to act on a busy machine.
ENDS_WITHIN = STEP + RING_TIMEOUT


async def test_nobody_answers_the_call_is_missed(
    timers_server: RunningServer, timers_tenant: TenantFixture
) -> None:
    scene = await make_scene(timers_server, timers_tenant)
    try:
        ringing, incoming = await ring(scene.shopper_ws, scene.agent_ws, scene.cid, "audio")
        call_id = ringing["call_id"]
        assert ringing["ring_expires_at"] == incoming["ring_expires_at"]
        for ws in (scene.shopper_ws, scene.agent_ws):
            ended = await wait_for(
                ws,
                lambda f: frame_is("call.ended", call_id=call_id)(f) and "seq" not in f,
                ENDS_WITHIN,
            )
            assert ended["reason"] == "missed"
            assert ended["by"] == {"type": "system", "id": None}
            assert ended["answered_at"] is None
        history = await call_history(scene.http, timers_tenant.agent.headers, scene.cid, call_id)
        assert history["call.ended"]["reason"] == "missed"
        assert history["call.ended"]["by"]["type"] == "system"
        late = await send_and_answer(
            scene.agent_ws, {"type": "call.accept", "id": "late", "call_id": call_id}
        )
        assert late["code"] == "call_ended"
    finally:
        await scene.close()


async def test_a_connection_lost_past_the_grace_drops_the_call_and_history_replays(
    timers_server: RunningServer, timers_tenant: TenantFixture
) -> None:
    """The shopper's socket drops during an active call and does not come back within
    the grace: the call ends `dropped` for the agent. The shopper reconnects afterwards
    and, resuming from the seq it had, gets `call.started` and `call.ended` replayed."""
    scene = await make_scene(timers_server, timers_tenant)
    try:
        call_id = await connect_call(scene.agent_ws, scene.shopper_ws, scene.cid, "video")
        started = await wait_for(scene.shopper_ws, frame_is("call.started", call_id=call_id))
        before = started["seq"] - 1
        await scene.shopper_ws.close()

        interrupted = await wait_for(
            scene.agent_ws,
            lambda f: frame_is("call.state", call_id=call_id)(f) and bool(f["interrupted"]),
        )
        assert interrupted["interrupted"][0]["id"] == scene.shopper.visitor_id
        ended = await wait_for(
            scene.agent_ws,
            lambda f: frame_is("call.ended", call_id=call_id)(f) and "seq" not in f,
            STEP + RECONNECT_GRACE,
        )
        assert ended["reason"] == "dropped"
        assert ended["by"] == {"type": "visitor", "id": scene.shopper.visitor_id, "name": "Visitor"}
        stored = await stored_ended(scene.agent_ws, call_id)

        # Back too late: nothing to rejoin, and the history is replayed in order.
        back = await scene.connect(scene.shopper.token, **{scene.cid: before})
        replayed = [
            f for f in back.frames if f.get("call_id") == call_id and f["type"].startswith("call.")
        ]
        assert [(f["type"], f["seq"]) for f in replayed] == [
            ("call.started", started["seq"]),
            ("call.ended", stored["seq"]),
        ]
        assert replayed[1]["reason"] == "dropped"
        assert replayed[1]["duration_seconds"] == ended["duration_seconds"]
        assert not any(f["type"] == "call.state" for f in back.frames)
        rejoin = await send_and_answer(
            back, {"type": "call.rejoin", "id": "rj", "call_id": call_id}
        )
        assert rejoin["code"] == "call_ended"
        synced = next(f for f in back.frames if f["type"] == "synced")
        assert synced["conversations"][scene.cid] >= stored["seq"]
    finally:
        await scene.close()


async def test_a_ringing_caller_that_disconnects_drops_the_call_at_once(
    timers_server: RunningServer, timers_tenant: TenantFixture
) -> None:
    scene = await make_scene(timers_server, timers_tenant)
    try:
        ringing, _ = await ring(scene.shopper_ws, scene.agent_ws, scene.cid, "video")
        call_id = ringing["call_id"]
        await scene.shopper_ws.close()
        ended = await live_ended(scene.agent_ws, call_id)
        assert ended["reason"] == "dropped"
        # The agent may call the shopper's conversation again at once: nobody is busy.
        again = await open_live(timers_server, scene.shopper.token)
        scene.extra.append(again)
        ringing2, _ = await ring(scene.agent_ws, again, scene.cid, "audio")
        await send_and_answer(
            scene.agent_ws, {"type": "call.cancel", "id": "c", "call_id": ringing2["call_id"]}
        )
    finally:
        await scene.close()


def check_coturn(server: dict[str, Any], user_key: str, issued_at: float) -> int:
    """coturn's scheme: `<unix expiry>:<user id>`, base64(HMAC-SHA1(secret, username)).
    Returns the expiry."""
    assert server["urls"] == [url for url in ICE_URLS if url.startswith("turn:")]
    expiry_text, _, user = server["username"].partition(":")
    assert user == user_key
    expiry = int(expiry_text)
    assert int(issued_at) + TURN_TTL <= expiry <= int(time.time()) + TURN_TTL
    digest = hmac.new(TURN_SECRET.encode(), server["username"].encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(digest).decode()
    now = datetime.now(UTC)
    assert verify_turn_credential(TURN_SECRET, server["username"], server["credential"], now)
    assert not verify_turn_credential(
        "another-secret-of-16+", server["username"], server["credential"], now
    )
    return expiry


async def test_rest_ice_servers_carry_coturn_credentials(
    timers_server: RunningServer, timers_tenant: TenantFixture, timers_http: httpx.AsyncClient
) -> None:
    issued_at = time.time()
    shopper = await timers_tenant.shopper(with_conversation=False)
    for headers, key in (
        (timers_tenant.agent.headers, f"agent-{timers_tenant.agent.id}"),
        (shopper.headers, f"visitor-{shopper.visitor_id}"),
    ):
        response = await timers_http.get("/api/v1/calls/ice-servers", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        stun, turn = body["ice_servers"]
        assert stun == {"urls": [url for url in ICE_URLS if url.startswith("stun:")]}
        expiry = check_coturn(turn, key, issued_at)
        assert body["ttl_seconds"] == TURN_TTL
        assert datetime.fromisoformat(body["expires_at"]) == datetime.fromtimestamp(expiry, UTC)

    anonymous = await timers_http.get("/api/v1/calls/ice-servers")
    assert anonymous.status_code == 401, anonymous.text
    forged = await timers_http.get(
        "/api/v1/calls/ice-servers", headers={"Authorization": "Bearer not-a-token"}
    )
    assert forged.status_code == 401, forged.text


async def test_welcome_and_ringing_carry_fresh_ice_servers(
    timers_server: RunningServer, timers_tenant: TenantFixture
) -> None:
    issued_at = time.time()
    scene = await make_scene(timers_server, timers_tenant)
    try:
        agent_key = f"agent-{timers_tenant.agent.id}"
        shopper_key = f"visitor-{scene.shopper.visitor_id}"
        welcome = welcome_of(scene.agent_ws)
        check_coturn(welcome["ice_servers"][1], agent_key, issued_at)
        assert welcome["calls"]["ring_timeout_seconds"] == RING_TIMEOUT
        assert welcome["calls"]["reconnect_grace_seconds"] == RECONNECT_GRACE
        ringing, incoming = await ring(scene.shopper_ws, scene.agent_ws, scene.cid, "audio")
        check_coturn(ringing["ice_servers"][1], shopper_key, issued_at)
        check_coturn(incoming["ice_servers"][1], agent_key, issued_at)
        await send_and_answer(
            scene.shopper_ws, {"type": "call.cancel", "id": "c", "call_id": ringing["call_id"]}
        )
    finally:
        await scene.close()
