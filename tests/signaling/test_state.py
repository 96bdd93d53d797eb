"""The call state machine: every transition from every state by every kind of sender."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from signaling.errors import NotAllowed, NotInterrupted, SignalingError, WrongCallState
from signaling.participants import Participant
from signaling.state import Call, CallState, EndReason, Media
from tests.signaling.support import AGENT, OUTSIDER, SHOPPER, T0, active_call, at, new_call

NOW = at(10)


def ringing() -> Call:
    return new_call()


def active() -> Call:
    return active_call()


def active_caller_interrupted() -> Call:
    call = active_call()
    call.participant_disconnected(SHOPPER, at(8))
    return call


def ended() -> Call:
    call = new_call()
    call.decline(AGENT, at(3))
    return call


STARTS: dict[str, Callable[[], Call]] = {
    "ringing": ringing,
    "active": active,
    "interrupted": active_caller_interrupted,
    "ended": ended,
}

WHO = {"caller": SHOPPER, "callee": AGENT, "outsider": OUTSIDER}

OPS: dict[str, Callable[[Call, Participant], None]] = {
    "accept": lambda call, who: call.accept(who, "s-new", NOW),
    "decline": lambda call, who: call.decline(who, NOW),
    "cancel": lambda call, who: call.cancel(who, NOW),
    "hangup": lambda call, who: call.hangup(who, NOW),
    "hangup_failed": lambda call, who: call.hangup(who, NOW, EndReason.FAILED),
    "disconnect": lambda call, who: call.participant_disconnected(who, NOW),
    "rejoin": lambda call, who: call.participant_reconnected(who, "s-new", NOW),
}

# (start, op, who) -> ("state", reason, ended_by) for a legal transition, or an error code.
ACTIVE_ = ("active", None, None)
EXPECTED: dict[tuple[str, str, str], tuple[str, str | None, str | None] | str] = {
    # ringing
    ("ringing", "accept", "caller"): "not_the_callee",
    ("ringing", "accept", "callee"): ACTIVE_,
    ("ringing", "decline", "caller"): "not_the_callee",
    ("ringing", "decline", "callee"): ("ended", "declined", "callee"),
    ("ringing", "cancel", "caller"): ("ended", "cancelled", "caller"),
    ("ringing", "cancel", "callee"): "not_the_caller",
    ("ringing", "hangup", "caller"): ("ended", "cancelled", "caller"),
    ("ringing", "hangup", "callee"): ("ended", "declined", "callee"),
    ("ringing", "hangup_failed", "caller"): ("ended", "failed", "caller"),
    ("ringing", "hangup_failed", "callee"): ("ended", "failed", "callee"),
    ("ringing", "disconnect", "caller"): ("ended", "dropped", "caller"),
    ("ringing", "disconnect", "callee"): "call_not_active",
    ("ringing", "rejoin", "caller"): "call_not_active",
    ("ringing", "rejoin", "callee"): "call_not_active",
    # active
    ("active", "accept", "caller"): "not_the_callee",
    ("active", "accept", "callee"): "call_not_ringing",
    ("active", "decline", "caller"): "not_the_callee",
    ("active", "decline", "callee"): "call_not_ringing",
    ("active", "cancel", "caller"): "call_not_ringing",
    ("active", "cancel", "callee"): "not_the_caller",
    ("active", "hangup", "caller"): ("ended", "hung_up", "caller"),
    ("active", "hangup", "callee"): ("ended", "hung_up", "callee"),
    ("active", "hangup_failed", "caller"): ("ended", "failed", "caller"),
    ("active", "hangup_failed", "callee"): ("ended", "failed", "callee"),
    ("active", "disconnect", "caller"): ACTIVE_,
    ("active", "disconnect", "callee"): ACTIVE_,
    ("active", "rejoin", "caller"): "not_interrupted",
    ("active", "rejoin", "callee"): "not_interrupted",
    # active, the caller's connection lost
    ("interrupted", "accept", "caller"): "not_the_callee",
    ("interrupted", "accept", "callee"): "call_not_ringing",
    ("interrupted", "decline", "caller"): "not_the_callee",
    ("interrupted", "decline", "callee"): "call_not_ringing",
    ("interrupted", "cancel", "caller"): "call_not_ringing",
    ("interrupted", "cancel", "callee"): "not_the_caller",
    ("interrupted", "hangup", "caller"): ("ended", "hung_up", "caller"),
    ("interrupted", "hangup", "callee"): ("ended", "hung_up", "callee"),
    ("interrupted", "hangup_failed", "caller"): ("ended", "failed", "caller"),
    ("interrupted", "hangup_failed", "callee"): ("ended", "failed", "callee"),
    ("interrupted", "disconnect", "caller"): ACTIVE_,
    ("interrupted", "disconnect", "callee"): ACTIVE_,
    ("interrupted", "rejoin", "caller"): ACTIVE_,
    ("interrupted", "rejoin", "callee"): "not_interrupted",
    # ended: whatever a participant does is late
    **{
        ("ended", op, who): ("not_the_callee" if op in ("accept", "decline") else "call_ended")
        for op in OPS
        for who in ("caller",)
    },
    **{
        ("ended", op, who): ("not_the_caller" if op == "cancel" else "call_ended")
        for op in OPS
        for who in ("callee",)
    },
}


def expected_for(start: str, op: str, who: str) -> tuple[str, str | None, str | None] | str:
    if who == "outsider":  # an outsider learns nothing, whatever the state
        return "not_a_participant"
    return EXPECTED[(start, op, who)]


def snapshot(call: Call) -> tuple[Any, ...]:
    return (
        call.state,
        call.end_reason,
        call.ended_by,
        call.answered_at,
        call.ended_at,
        call.bound_sessions(),
        call.interrupted,
    )


CASES = [(start, op, who) for start in STARTS for op in OPS for who in WHO]


def test_the_table_covers_every_case() -> None:
    participant_cases = {(s, o, w) for s, o, w in CASES if w != "outsider"}
    assert participant_cases <= set(EXPECTED)


@pytest.mark.parametrize(("start", "op", "who"), CASES)
def test_transition(start: str, op: str, who: str) -> None:
    call = STARTS[start]()
    expected = expected_for(start, op, who)
    before = snapshot(call)
    if isinstance(expected, str):
        with pytest.raises(SignalingError) as info:
            OPS[op](call, WHO[who])
        assert info.value.code == expected
        assert info.value.call_id == call.id
        assert snapshot(call) == before, "a refused transition changed the call"
        return
    OPS[op](call, WHO[who])
    state, reason, by = expected
    assert call.state is CallState(state)
    assert call.end_reason == (None if reason is None else EndReason(reason))
    assert call.ended_by == (None if by is None else WHO[by])
    if state == "ended":
        assert call.ended_at == NOW
        assert call.bound_sessions() == {}
        assert call.deadline() is None


def test_wrong_state_says_what_it_expected_and_found() -> None:
    call = active_call()
    with pytest.raises(WrongCallState) as info:
        call.accept(AGENT, "s-2", NOW)
    assert info.value.code == "call_not_ringing"
    assert info.value.expected == (CallState.RINGING,)
    assert info.value.found is CallState.ACTIVE
    assert "ringing" in info.value.message and "active" in info.value.message

    call.hangup(SHOPPER, NOW)
    with pytest.raises(WrongCallState) as info:
        call.hangup(AGENT, NOW)
    assert info.value.code == "call_ended"
    assert info.value.expected == (CallState.RINGING, CallState.ACTIVE)
    assert info.value.found is CallState.ENDED


def test_ring_timeout_misses_the_call() -> None:
    call = new_call(ring_timeout=30)
    assert call.ring_deadline == at(30)
    assert call.deadline() == at(30)
    assert call.check_timeouts(at(29.999)) is None
    assert call.state is CallState.RINGING
    assert call.check_timeouts(at(30)) is EndReason.MISSED
    assert call.state is CallState.ENDED
    assert call.ended_by is None
    assert call.duration == timedelta(0)
    assert call.check_timeouts(at(60)) is None


def test_explicit_ring_timeout_needs_a_ringing_call() -> None:
    call = active_call()
    with pytest.raises(WrongCallState) as info:
        call.ring_timeout(NOW)
    assert info.value.code == "call_not_ringing"
    assert call.state is CallState.ACTIVE


def test_a_late_timer_does_not_beat_an_accept() -> None:
    """Deadlines are applied by check_timeouts only: an accept just after the deadline,
    before the timer ran, still answers the call."""
    call = new_call(ring_timeout=30)
    call.accept(AGENT, "s-callee", at(30.2))
    assert call.state is CallState.ACTIVE
    assert call.check_timeouts(at(31)) is None


def test_no_ring_timeout_rings_until_someone_acts() -> None:
    call = new_call(ring_timeout=None)
    assert call.deadline() is None
    assert call.check_timeouts(at(86400)) is None
    assert call.state is CallState.RINGING


def test_reconnect_within_grace_keeps_the_call() -> None:
    call = active_call(reconnect_grace=30)
    call.participant_disconnected(AGENT, at(100))
    assert call.session_of(AGENT) is None
    assert call.rejoin_deadline(AGENT) == at(130)
    assert call.deadline() == at(130)
    assert call.check_timeouts(at(129)) is None
    call.participant_reconnected(AGENT, "s-agent-new-tab", at(129))
    assert call.session_of(AGENT) == "s-agent-new-tab"
    assert call.interrupted == {}
    assert call.deadline() is None
    assert call.check_timeouts(at(1000)) is None
    assert call.state is CallState.ACTIVE


def test_grace_over_drops_the_call() -> None:
    call = active_call(reconnect_grace=30)
    call.participant_disconnected(AGENT, at(100))
    assert call.check_timeouts(at(130)) is EndReason.DROPPED
    assert call.state is CallState.ENDED
    assert call.ended_by == AGENT
    assert call.ended_at == at(130)
    with pytest.raises(WrongCallState) as info:
        call.participant_reconnected(AGENT, "s-late", at(131))
    assert info.value.code == "call_ended"


def test_both_sides_lost_the_earliest_grace_ends_it() -> None:
    call = active_call(reconnect_grace=30)
    call.participant_disconnected(AGENT, at(100))
    call.participant_disconnected(SHOPPER, at(90))
    assert call.deadline() == at(120)
    assert call.check_timeouts(at(125)) is EndReason.DROPPED
    assert call.ended_by == SHOPPER


def test_a_second_disconnect_keeps_the_first_instant() -> None:
    call = active_call(reconnect_grace=30)
    call.participant_disconnected(AGENT, at(100))
    call.participant_disconnected(AGENT, at(110))
    assert call.rejoin_deadline(AGENT) == at(130)


def test_zero_grace_drops_at_once() -> None:
    call = active_call(reconnect_grace=0)
    call.participant_disconnected(SHOPPER, at(50))
    assert call.state is CallState.ENDED
    assert call.end_reason is EndReason.DROPPED
    assert call.ended_by == SHOPPER


def test_duration_is_talk_time() -> None:
    call = new_call()
    assert call.duration is None
    call.accept(AGENT, "s-callee", at(12))
    assert call.elapsed(at(20)) == timedelta(seconds=8)
    assert call.duration is None
    call.hangup(SHOPPER, at(72.5))
    assert call.duration == timedelta(seconds=60.5)
    assert call.elapsed(at(500)) == timedelta(seconds=60.5)


def test_unanswered_calls_last_zero() -> None:
    call = new_call()
    assert call.elapsed(at(5)) == timedelta(0)
    call.cancel(SHOPPER, at(5))
    assert call.duration == timedelta(0)


def test_callee_busy_ends_the_invite() -> None:
    call = new_call()
    call.callee_busy(T0)
    assert (call.state, call.end_reason, call.ended_by) == (CallState.ENDED, EndReason.BUSY, None)
    with pytest.raises(WrongCallState):
        call.callee_busy(T0)


def test_abort_ends_any_live_call_as_failed() -> None:
    for call in (new_call(), active_call()):
        call.abort(NOW)
        assert (call.end_reason, call.ended_by) == (EndReason.FAILED, None)
        with pytest.raises(WrongCallState) as info:
            call.abort(NOW)
        assert info.value.code == "call_ended"


def test_accept_binds_the_accepting_connection() -> None:
    call = new_call()
    assert call.bound_sessions() == {"s-caller": SHOPPER}
    assert call.session_of(AGENT) is None
    call.accept(AGENT, "s-agent-tab-2", NOW)
    assert call.bound_sessions() == {"s-caller": SHOPPER, "s-agent-tab-2": AGENT}


def test_roles_and_the_other_side() -> None:
    call = new_call()
    assert call.role_of(SHOPPER) == "caller" and call.role_of(AGENT) == "callee"
    assert call.other(SHOPPER) == AGENT and call.other(AGENT) == SHOPPER
    for read in (call.role_of, call.other, call.session_of):
        with pytest.raises(NotAllowed) as info:
            read(OUTSIDER)
        assert info.value.code == "not_a_participant"


def test_hangup_reason_is_hung_up_or_failed_only() -> None:
    call = active_call()
    with pytest.raises(ValueError):
        call.hangup(SHOPPER, NOW, EndReason.MISSED)
    assert call.state is CallState.ACTIVE


def test_instants_must_be_aware() -> None:
    naive = datetime(2026, 11, 28, 17, 0)
    with pytest.raises(ValueError):
        Call(
            id="x",
            conversation_id="c",
            caller=SHOPPER,
            callee=AGENT,
            media=Media.AUDIO,
            caller_session="s",
            created_at=naive,
        )
    call = new_call()
    with pytest.raises(ValueError):
        call.accept(AGENT, "s-callee", naive)
    assert call.state is CallState.RINGING
    call.accept(AGENT, "s-callee", datetime(2026, 11, 29, 1, 0, tzinfo=UTC))


def test_construction_is_checked() -> None:
    with pytest.raises(ValueError):
        new_call(caller=AGENT, callee=AGENT)
    with pytest.raises(ValueError):
        new_call(ring_timeout=0)
    with pytest.raises(ValueError):
        new_call(reconnect_grace=-1)
    with pytest.raises(ValueError):
        new_call(media="smell")  # type: ignore[arg-type]


def test_not_interrupted_is_its_own_refusal() -> None:
    call = active_call()
    with pytest.raises(NotInterrupted) as info:
        call.participant_reconnected(AGENT, "s-x", NOW)
    assert info.value.code == "not_interrupted"
