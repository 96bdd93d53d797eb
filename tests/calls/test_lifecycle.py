"""The call's life through the gateway, over real WebSockets: ringing, decline, cancel,
busy, who may take part (outsiders are refused and hear nothing), what `call.signal` may
carry (malformed or oversized SDP, candidate floods), and rejoining after a lost
connection. Every ending is announced live to both sides and stored with a seq.
"""

from __future__ import annotations

import pytest

from tests.calls.support import (
    STEP,
    Scene,
    assign,
    call_frames,
    call_history,
    connect_call,
    error_for,
    frame_is,
    invite,
    live_ended,
    make_scene,
    open_live,
    ring,
    send_and_answer,
    signals_of,
    wait_for,
)
from tests.harness import RunningServer, TenantFixture, WsClient

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"


def signal(call_id: str, frame_id: str, **payload: object) -> dict[str, object]:
    return {"type": "call.signal", "id": frame_id, "call_id": call_id, **payload}


def candidate(call_id: str, frame_id: str, port: int = 50000) -> dict[str, object]:
    return signal(
        call_id,
        frame_id,
        candidate={"candidate": CANDIDATE.format(port=port), "sdpMid": "0", "sdpMLineIndex": 0},
    )


async def test_callee_declines(server: RunningServer, tenant: TenantFixture) -> None:
    scene = await make_scene(server, tenant)
    try:
        ringing, incoming = await ring(scene.shopper_ws, scene.agent_ws, scene.cid, "audio")
        call_id = ringing["call_id"]
        assert incoming["media"] == "audio"
        assert incoming["caller"] == {
            "type": "visitor",
            "id": scene.shopper.visitor_id,
            "name": "Visitor",
        }
        assert incoming["callee"]["id"] == tenant.agent.id
        assert incoming["callee"]["name"] == tenant.agent.name
        assert ringing["session_id"] == next(
            f["session_id"] for f in scene.shopper_ws.frames if f["type"] == "welcome"
        )
        # Only the callee declines; the caller is told so.
        refused = await error_for(
            scene.shopper_ws, {"type": "call.decline", "id": "d0", "call_id": call_id}
        )
        assert refused["code"] == "not_the_callee"
        # Signals wait for the answer: no SDP (and so no address) reaches anyone before it.
        early = await error_for(
            scene.shopper_ws, signal(call_id, "early", description={"type": "offer", "sdp": SDP})
        )
        assert early["code"] == "signal_not_allowed"

        declined = await send_and_answer(
            scene.agent_ws, {"type": "call.decline", "id": "d1", "call_id": call_id}
        )
        assert declined["type"] == "call.ended"
        assert declined["reason"] == "declined"
        assert declined["by"]["id"] == tenant.agent.id
        assert declined["answered_at"] is None
        assert declined["duration_seconds"] == 0
        ended = await live_ended(scene.shopper_ws, call_id)
        assert ended["reason"] == "declined"
        history = await call_history(scene.http, tenant.agent.headers, scene.cid, call_id)
        assert history["call.ended"]["reason"] == "declined"
        assert history["call.started"]["seq"] < history["call.ended"]["seq"]
        assert signals_of(scene.agent_ws) == []
        # Declining twice: the call is over.
        again = await error_for(
            scene.agent_ws, {"type": "call.decline", "id": "d2", "call_id": call_id}
        )
        assert again["code"] == "call_ended"
        assert again["found"] == "ended"
    finally:
        await scene.close()


async def test_caller_cancels_while_ringing(server: RunningServer, tenant: TenantFixture) -> None:
    scene = await make_scene(server, tenant)
    try:
        ringing, _ = await ring(scene.agent_ws, scene.shopper_ws, scene.cid, "video")
        call_id = ringing["call_id"]
        refused = await error_for(
            scene.shopper_ws, {"type": "call.cancel", "id": "c0", "call_id": call_id}
        )
        assert refused["code"] == "not_the_caller"
        cancelled = await send_and_answer(
            scene.agent_ws, {"type": "call.cancel", "id": "c1", "call_id": call_id}
        )
        assert cancelled["type"] == "call.ended"
        assert cancelled["reason"] == "cancelled"
        assert (await live_ended(scene.shopper_ws, call_id))["reason"] == "cancelled"
        late = await error_for(
            scene.shopper_ws, {"type": "call.accept", "id": "late", "call_id": call_id}
        )
        assert late["code"] == "call_ended"
        history = await call_history(scene.http, tenant.agent.headers, scene.cid, call_id)
        assert history["call.ended"]["reason"] == "cancelled"
        assert history["call.started"]["by"]["id"] == tenant.agent.id
    finally:
        await scene.close()


async def test_a_busy_callee_ends_the_second_call_at_once(
    server: RunningServer, tenant: TenantFixture
) -> None:
    """The agent is ringing with one shopper; a second shopper of theirs hears `busy`,
    and the first shopper, in a call already, may not place another."""
    scene = await make_scene(server, tenant)
    second = await make_scene_for_agent(scene)
    try:
        ringing, _ = await ring(scene.shopper_ws, scene.agent_ws, scene.cid)
        busy = await invite(second.shopper_ws, second.cid, "busy-1", "audio")
        assert busy["type"] == "call.ended", busy
        assert busy["reason"] == "busy"
        assert busy["by"] == {"type": "system", "id": None}
        history = await call_history(scene.http, tenant.agent.headers, second.cid, busy["call_id"])
        assert history["call.ended"]["reason"] == "busy"
        # The busy agent never rang for it.
        assert not any(
            f.get("call_id") == busy["call_id"] and f["type"] == "call.incoming"
            for f in scene.agent_ws.frames
        )

        twice = await invite(scene.shopper_ws, scene.cid, "twice")
        assert twice["type"] == "error"
        assert twice["code"] == "already_in_call"
        assert twice["call_id"] == ringing["call_id"]

        # The first call is unharmed: it can be answered.
        accepted = await send_and_answer(
            scene.agent_ws, {"type": "call.accept", "id": "a", "call_id": ringing["call_id"]}
        )
        assert accepted["type"] == "call.accepted"
        await send_and_answer(
            scene.agent_ws, {"type": "call.hangup", "id": "h", "call_id": ringing["call_id"]}
        )
    finally:
        await second.close()
        await scene.close()


async def make_scene_for_agent(scene: Scene) -> Scene:
    """A second shopper of the same tenant, assigned to the same agent."""
    shopper = await scene.tenant.shopper()
    assert shopper.conversation_id is not None
    await assign(scene.tenant, shopper.conversation_id, scene.tenant.agent.id)
    shopper_ws = await open_live(scene.server, shopper.token)
    agent_ws = await open_live(scene.server, scene.tenant.agent.token)
    return Scene(scene.server, scene.tenant, shopper, shopper_ws, agent_ws)


async def test_who_may_call(server: RunningServer, tenant: TenantFixture) -> None:
    """Nobody assigned: `no_agent`; a colleague of the assignee: `not_the_assignee`;
    a closed conversation: `conversation_closed`."""
    scene = await make_scene(server, tenant, assigned=False)
    colleague = await tenant.add_agent("Colleague")
    try:
        nobody = await invite(scene.shopper_ws, scene.cid, "n1")
        assert nobody["code"] == "no_agent", nobody
        await assign(tenant, scene.cid, tenant.agent.id)
        colleague_ws = await scene.connect(colleague.token)
        not_theirs = await invite(colleague_ws, scene.cid, "n2")
        assert not_theirs["code"] == "not_the_assignee", not_theirs

        response = await scene.http.post(
            f"/api/v1/conversations/{scene.cid}/close", headers=tenant.agent.headers
        )
        assert response.status_code == 200, response.text
        closed = await invite(scene.agent_ws, scene.cid, "n3")
        assert closed["code"] == "conversation_closed", closed
        # None of these rang anyone or was stored.
        assert not any(f["type"] == "call.incoming" for f in scene.shopper_ws.frames)
        assert not any(f["type"] == "call.incoming" for f in scene.agent_ws.frames)
        events = await scene.http.get(
            f"/api/v1/conversations/{scene.cid}/events", headers=tenant.agent.headers
        )
        assert not [e for e in events.json()["events"] if e["type"].startswith("call.")]
    finally:
        await scene.close()


async def test_outsiders_are_refused_and_hear_nothing(
    server: RunningServer, tenant: TenantFixture, other_tenant: TenantFixture
) -> None:
    """Another shopper of the same tenant and another tenant's agent: they cannot call into
    the conversation, answer, decline, hang up, rejoin or signal the call, and receive
    none of its frames."""
    scene = await make_scene(server, tenant)
    stranger = await tenant.shopper()
    stranger_ws = await scene.connect(stranger.token)
    rival_ws = await scene.connect(other_tenant.agent.token)
    rival_admin_ws = await scene.connect(other_tenant.admin.token)
    try:
        call_id = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "video")
        for outsider in (stranger_ws, rival_ws, rival_admin_ws):
            placed = await invite(outsider, scene.cid, "o-inv")
            assert placed["code"] == "conversation_not_found", placed
            for verb, code in (
                ("call.accept", "not_a_participant"),
                ("call.decline", "not_a_participant"),
                ("call.cancel", "not_a_participant"),
                ("call.hangup", "not_a_participant"),
                ("call.rejoin", "not_a_participant"),
            ):
                refused = await error_for(
                    outsider, {"type": verb, "id": f"o-{verb}", "call_id": call_id}
                )
                assert refused["code"] == code, (verb, refused)
            offer = await error_for(
                outsider, signal(call_id, "o-sdp", description={"type": "offer", "sdp": SDP})
            )
            assert offer["code"] == "signal_not_allowed"
            injected = await error_for(outsider, candidate(call_id, "o-cand"))
            assert injected["code"] == "signal_not_allowed"
            assert call_frames(outsider) == []

        # The call is still theirs: a signal passes, to the other side only.
        relayed = signal(call_id, "real", description={"type": "offer", "sdp": SDP})
        await scene.shopper_ws.send(relayed)
        got = await wait_for(scene.agent_ws, frame_is("call.signal", call_id=call_id))
        assert got["description"] == {"type": "offer", "sdp": SDP}
        assert got["by"] == {"type": "visitor", "id": scene.shopper.visitor_id}
        hangup = await send_and_answer(
            scene.agent_ws, {"type": "call.hangup", "id": "h", "call_id": call_id}
        )
        assert hangup["reason"] == "hung_up"
        await live_ended(scene.shopper_ws, call_id)
        for outsider in (stranger_ws, rival_ws, rival_admin_ws):
            # Nothing of the call, live or stored, reached them.
            assert [f for f in outsider.frames if f.get("call_id") == call_id] == [
                f for f in outsider.frames if f.get("call_id") == call_id and f["type"] == "error"
            ]
            assert not any(f.get("conversation_id") == scene.cid for f in outsider.frames)
    finally:
        await scene.close()


async def test_bad_descriptions_and_candidates_get_their_codes(
    server: RunningServer, tenant: TenantFixture
) -> None:
    scene = await make_scene(server, tenant)
    try:
        call_id = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "video")
        shopper = scene.shopper_ws
        limits = next(f for f in shopper.frames if f["type"] == "welcome")["calls"]
        max_sdp = limits["max_sdp_bytes"]

        cases = [
            (
                "garbage",
                {"description": {"type": "offer", "sdp": "hello, I am not an SDP"}},
                "sdp_malformed",
            ),
            (
                "no-origin",
                {"description": {"type": "offer", "sdp": "v=0\r\ns=-\r\nt=0 0\r\n"}},
                "sdp_malformed",
            ),
            (
                "nul",
                {"description": {"type": "answer", "sdp": SDP + "a=x\x00y\r\n"}},
                "sdp_malformed",
            ),
            (
                "huge",
                {"description": {"type": "offer", "sdp": SDP + "a=x-pad:" + "p" * max_sdp}},
                "sdp_too_large",
            ),
            (
                "rollback-sdp",
                {"description": {"type": "rollback", "sdp": SDP}},
                "sdp_malformed",
            ),
            (
                "bad-cand",
                {"candidate": {"candidate": "candidate:evil", "sdpMid": "0"}},
                "candidate_malformed",
            ),
            (
                "no-mid",
                {"candidate": {"candidate": CANDIDATE.format(port=1)}},
                "candidate_malformed",
            ),
            (
                "long-cand",
                {
                    "candidate": {
                        "candidate": CANDIDATE.format(port=1) + " x " + "y" * 2000,
                        "sdpMid": "0",
                    }
                },
                "candidate_too_large",
            ),
            (
                "both",
                {
                    "description": {"type": "offer", "sdp": SDP},
                    "candidate": {"candidate": "", "sdpMid": "0"},
                },
                "invalid_frame",
            ),
            ("neither", {}, "invalid_frame"),
            ("bad-type", {"description": {"type": "hello", "sdp": SDP}}, "invalid_frame"),
        ]
        for frame_id, payload, code in cases:
            refused = await error_for(shopper, signal(call_id, frame_id, **payload))
            assert refused["code"] == code, (frame_id, refused)
        # Nothing of it reached the agent; a sane one still passes.
        await shopper.send(signal(call_id, "good", description={"type": "offer", "sdp": SDP}))
        got = await wait_for(scene.agent_ws, frame_is("call.signal", call_id=call_id))
        assert got["description"]["sdp"] == SDP
        assert len(signals_of(scene.agent_ws, call_id)) == 1
        await send_and_answer(shopper, {"type": "call.hangup", "id": "h", "call_id": call_id})
    finally:
        await scene.close()


async def test_a_candidate_flood_is_cut_off(server: RunningServer, tenant: TenantFixture) -> None:
    """More candidates than one call may carry: the excess is refused with
    `candidate_flood` (and, once refusals spend the connection's rate, `rate_limited`);
    the peer receives exactly the candidates that were accepted."""
    scene = await make_scene(server, tenant)
    try:
        call_id = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "audio")
        limits = next(f for f in scene.agent_ws.frames if f["type"] == "welcome")["calls"]
        cap = limits["max_candidates_per_call"]
        sent = cap + 60
        agent = scene.agent_ws
        for n in range(sent):
            await agent.send(candidate(call_id, f"cand-{n}", port=40000 + n))
        # Frames of one connection are handled in order: once the fence is answered,
        # every candidate before it has been judged.
        await agent.send({"type": "ping", "id": "fence"})
        await wait_for(agent, lambda f: f.get("id") == "fence", STEP * 3)
        errors = [f for f in agent.frames if f["type"] == "error" and f["id"].startswith("cand-")]
        codes = {f["code"] for f in errors}
        assert "candidate_flood" in codes, codes
        assert codes <= {"candidate_flood", "rate_limited"}, codes
        accepted = sent - len(errors)
        assert limits["candidate_burst"] <= accepted <= cap

        def relayed_all(_: dict[str, object]) -> bool:
            return len(signals_of(scene.shopper_ws, call_id)) >= accepted

        await wait_for(scene.shopper_ws, relayed_all, STEP * 3)
        await scene.shopper_ws.quiet(0.3)
        assert len(signals_of(scene.shopper_ws, call_id)) == accepted
        # The flood did not end the call: descriptions still pass and hang-up works.
        await agent.send(signal(call_id, "sdp", description={"type": "offer", "sdp": SDP}))
        await wait_for(
            scene.shopper_ws,
            lambda f: frame_is("call.signal", call_id=call_id)(f) and "description" in f,
        )
        ended = await send_and_answer(
            scene.shopper_ws, {"type": "call.hangup", "id": "h", "call_id": call_id}
        )
        assert ended["type"] == "call.ended"
    finally:
        await scene.close()


async def test_a_lost_connection_rejoins_within_the_grace(
    server: RunningServer, tenant: TenantFixture
) -> None:
    """The agent's socket drops during a call: the shopper sees them interrupted (and its
    signals wait: `peer_interrupted`); the agent reconnects, learns of the call after
    `welcome`, rejoins, and signals pass again, to the new connection."""
    scene = await make_scene(server, tenant)
    try:
        call_id = await connect_call(scene.shopper_ws, scene.agent_ws, scene.cid, "video")
        await scene.agent_ws.close()
        interrupted = await wait_for(
            scene.shopper_ws,
            lambda f: frame_is("call.state", call_id=call_id)(f) and bool(f["interrupted"]),
        )
        assert interrupted["state"] == "active"
        assert interrupted["interrupted"][0]["id"] == tenant.agent.id
        assert interrupted["interrupted"][0]["rejoin_by"] is not None
        waiting = await error_for(
            scene.shopper_ws, signal(call_id, "w", description={"type": "offer", "sdp": SDP})
        )
        assert waiting["code"] == "peer_interrupted"
        assert waiting["retryable"] is True

        back = await scene.connect(tenant.agent.token)
        state = await wait_for(back, frame_is("call.state", call_id=call_id))
        assert state["state"] == "active"
        assert state["session_id"] is None  # not bound yet: this tab may rejoin
        assert state["role"] == "callee"
        rejoined = await send_and_answer(
            back, {"type": "call.rejoin", "id": "rj", "call_id": call_id}
        )
        assert rejoined["type"] == "call.state", rejoined
        assert rejoined["interrupted"] == []
        assert rejoined["session_id"] == next(
            f["session_id"] for f in back.frames if f["type"] == "welcome"
        )
        await wait_for(
            scene.shopper_ws,
            lambda f: frame_is("call.state", call_id=call_id)(f) and f["interrupted"] == [],
        )
        again = await error_for(back, {"type": "call.rejoin", "id": "rj2", "call_id": call_id})
        assert again["code"] == "not_interrupted"

        await scene.shopper_ws.send(
            signal(call_id, "w2", description={"type": "offer", "sdp": SDP})
        )
        got = await wait_for(back, frame_is("call.signal", call_id=call_id))
        assert got["description"]["type"] == "offer"
        ended = await send_and_answer(back, {"type": "call.hangup", "id": "h", "call_id": call_id})
        assert ended["reason"] == "hung_up"
        await live_ended(scene.shopper_ws, call_id)
    finally:
        await scene.close()


@pytest.mark.parametrize("frame_type", ["call.accept", "call.hangup", "call.rejoin"])
async def test_unknown_calls_are_not_found(
    server: RunningServer, tenant: TenantFixture, frame_type: str
) -> None:
    ws = await WsClient.open(server, tenant.agent.token)
    try:
        refused = await error_for(ws, {"type": frame_type, "id": "x", "call_id": "f" * 32})
        assert refused["code"] == "call_not_found"
    finally:
        await ws.close()
