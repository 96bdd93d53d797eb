"""The call frames: parsing what clients send, building what we send and store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from signaling.errors import CannotCall, SignalRejected, WrongCallState
from signaling.frames import (
    CALL_FRAMES,
    CallHangup,
    CallInvite,
    CallSignal,
    accepted_frame,
    ended_frame,
    error_frame,
    history_ended,
    history_started,
    incoming_frame,
    ringing_frame,
    state_frame,
)
from signaling.state import CallState, EndReason, Media
from tests.signaling.support import AGENT, SHOPPER, active_call, at, new_call

ICE = [{"urls": ["stun:stun.example:3478"]}]


def parse(frame: dict[str, Any]) -> Any:
    return CALL_FRAMES[frame["type"]].model_validate(frame)


def test_every_client_frame_parses() -> None:
    frames: list[dict[str, Any]] = [
        {"type": "call.invite", "id": "i-1", "conversation_id": "c-1", "media": "video"},
        {"type": "call.accept", "call_id": "call-1"},
        {"type": "call.decline", "call_id": "call-1"},
        {"type": "call.cancel", "call_id": "call-1"},
        {"type": "call.hangup", "call_id": "call-1", "reason": "failed"},
        {"type": "call.rejoin", "call_id": "call-1"},
        {
            "type": "call.signal",
            "call_id": "call-1",
            "description": {"type": "offer", "sdp": "v=0"},
        },
        {"type": "call.signal", "call_id": "call-1", "candidate": {"candidate": "", "sdpMid": "0"}},
    ]
    assert {frame["type"] for frame in frames} == set(CALL_FRAMES)
    for frame in frames:
        parsed = parse(frame)
        assert parsed.type == frame["type"]
    invite = parse(frames[0])
    assert isinstance(invite, CallInvite) and invite.media is Media.VIDEO
    assert parse(frames[4]).reason == "failed"
    assert CallHangup.model_validate(frames[1] | {"type": "call.hangup"}).reason == "hung_up"


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "call.invite", "conversation_id": "c-1", "media": "smell"},
        {"type": "call.invite", "conversation_id": "", "media": "audio"},
        {"type": "call.invite", "conversation_id": "c-1", "media": "audio", "extra": 1},
        {"type": "call.accept"},
        {"type": "call.accept", "call_id": "x" * 65},
        {"type": "call.hangup", "call_id": "c", "reason": "missed"},
        {"type": "call.signal", "call_id": "c"},
        {
            "type": "call.signal",
            "call_id": "c",
            "description": {"type": "offer", "sdp": "v=0"},
            "candidate": {"candidate": ""},
        },
        {"type": "call.signal", "call_id": "c", "description": {"type": "bogus", "sdp": ""}},
        {"type": "call.signal", "call_id": "c", "description": {"sdp": "v=0"}},
        {"type": "call.signal", "call_id": "c", "candidate": {"sdpMid": "0"}},
        {"type": "call.signal", "call_id": "c", "candidate": {"candidate": "", "x": 1}},
    ],
)
def test_structural_mistakes_are_refused(frame: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse(frame)


def test_frames_are_frozen() -> None:
    signal = CallSignal.model_validate(
        {"type": "call.signal", "call_id": "c", "candidate": {"candidate": ""}}
    )
    with pytest.raises(ValidationError):
        signal.call_id = "d"


def test_ringing_and_incoming() -> None:
    call = new_call()
    names = {SHOPPER: "Ana", AGENT: "Li Wei"}
    ringing = ringing_frame(call, ICE, frame_id="i-1", names=names)
    assert ringing == {
        "type": "call.ringing",
        "id": "i-1",
        "call_id": "call-1",
        "conversation_id": "c-1",
        "media": "video",
        "caller": {"type": "visitor", "id": SHOPPER.id, "name": "Ana"},
        "callee": {"type": "agent", "id": AGENT.id, "name": "Li Wei"},
        "session_id": "s-caller",
        "created_at": "2026-11-28T17:00:00Z",
        "ring_expires_at": "2026-11-28T17:00:30Z",
        "ice_servers": ICE,
    }
    incoming = incoming_frame(call, ICE)
    assert incoming["type"] == "call.incoming"
    assert incoming["caller"] == {"type": "visitor", "id": SHOPPER.id}
    assert "session_id" not in incoming
    json.dumps(ringing), json.dumps(incoming)


def test_accepted_names_each_recipients_own_connection() -> None:
    call = active_call()
    assert accepted_frame(call, SHOPPER)["session_id"] == "s-caller"
    assert accepted_frame(call, AGENT)["session_id"] == "s-callee"
    assert accepted_frame(call, AGENT)["answered_at"] == "2026-11-28T17:00:05Z"


def test_ended_live_and_history_agree() -> None:
    call = active_call()
    call.hangup(AGENT, at(65.25))
    live = ended_frame(call)
    assert live["type"] == "call.ended"
    assert live["reason"] == "hung_up"
    assert live["by"] == {"type": "agent", "id": AGENT.id}
    assert live["duration_seconds"] == 60.25
    assert live["answered_at"] == "2026-11-28T17:00:05Z"
    assert live["ended_at"] == "2026-11-28T17:01:05.250000Z"
    event = history_ended(call)
    assert (event.type, event.author) == ("call.ended", AGENT)
    assert {k: v for k, v in live.items() if k not in ("type", "conversation_id", "by")} == (
        event.data
    )
    reserved = {"type", "conversation_id", "seq", "by", "created_at"}
    assert not reserved & set(event.data)
    json.dumps(event.data)


def test_missed_call_history() -> None:
    call = new_call()
    started = history_started(call)
    assert (started.type, started.author) == ("call.started", SHOPPER)
    assert started.data == {
        "call_id": "call-1",
        "media": "video",
        "caller": {"type": "visitor", "id": SHOPPER.id},
        "callee": {"type": "agent", "id": AGENT.id},
    }
    call.check_timeouts(at(30))
    ended = history_ended(call)
    assert ended.author is None
    assert ended.data["reason"] == EndReason.MISSED.value
    assert ended.data["duration_seconds"] == 0
    assert ended.data["answered_at"] is None
    assert ended_frame(call)["by"] == {"type": "system", "id": None}


def test_ended_builders_need_an_ended_call() -> None:
    with pytest.raises(ValueError):
        ended_frame(active_call())
    with pytest.raises(ValueError):
        history_ended(new_call())


def test_state_frame_for_a_reconnecting_participant() -> None:
    call = active_call()
    call.participant_disconnected(AGENT, at(40))
    for_agent = state_frame(call, AGENT, ice_servers=ICE)
    assert for_agent["state"] == CallState.ACTIVE.value
    assert for_agent["role"] == "callee"
    assert for_agent["session_id"] is None
    assert for_agent["interrupted"] == [
        {"type": "agent", "id": AGENT.id, "rejoin_by": "2026-11-28T17:01:10Z"}
    ]
    assert for_agent["ice_servers"] == ICE
    for_shopper = state_frame(call, SHOPPER)
    assert (for_shopper["role"], for_shopper["session_id"]) == ("caller", "s-caller")
    assert "ice_servers" not in for_shopper
    assert state_frame(new_call(), AGENT)["ring_expires_at"] == "2026-11-28T17:00:30Z"


def test_error_frames_carry_what_a_client_needs() -> None:
    call = active_call()
    try:
        call.accept(AGENT, "s", at(9))
    except WrongCallState as exc:
        frame = error_frame(exc, "f-1")
    assert frame == {
        "type": "error",
        "code": "call_not_ringing",
        "message": frame["message"],
        "id": "f-1",
        "call_id": "call-1",
        "expected": ["ringing"],
        "found": "active",
    }
    flood = error_frame(SignalRejected("slow down", "candidate_flood", retryable=True))
    assert flood["retryable"] is True and "call_id" not in flood
    assert error_frame(CannotCall("x", "no_agent"))["code"] == "no_agent"
