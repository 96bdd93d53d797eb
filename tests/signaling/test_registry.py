"""The call registry: busy, multiple tabs, lost connections, timeouts, consistent indices."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from signaling.errors import CallNotFound, CannotCall, NotAllowed, SignalingError
from signaling.participants import ConversationParties, Participant
from signaling.registry import CallRegistry
from signaling.state import Call, CallState, EndReason, Media
from tests.signaling.support import AGENT, CONVERSATION, OTHER_AGENT, SHOPPER, T0, at

SHOPPER_2 = Participant.visitor("v-bo")
CONVERSATION_2 = ConversationParties("c-2", SHOPPER_2.id, AGENT.id)
CONVERSATION_3 = ConversationParties("c-3", SHOPPER_2.id, OTHER_AGENT.id)


def registry(**kwargs: float | None) -> CallRegistry:
    counter = itertools.count(1)
    return CallRegistry(new_id=lambda: f"call-{next(counter)}", **kwargs)  # type: ignore[arg-type]


def test_invite_rings_and_is_found_everywhere() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-shop", Media.AUDIO, T0)
    assert call.state is CallState.RINGING
    assert (call.caller, call.callee, call.media) == (SHOPPER, AGENT, Media.AUDIO)
    assert calls.get(call.id) is call
    assert calls.call_of(SHOPPER) is call and calls.call_of(AGENT) is call
    assert calls.call_in("c-1") is call
    assert calls.call_bound_to("s-shop") is call
    assert calls.call_bound_to("s-agent") is None
    assert calls.next_deadline() == at(30)


def test_unknown_call() -> None:
    with pytest.raises(CallNotFound) as info:
        registry().accept("nope", AGENT, "s", T0)
    assert info.value.code == "call_not_found"
    assert info.value.call_id == "nope"


def test_refused_invites_create_nothing() -> None:
    calls = registry()
    with pytest.raises(CannotCall) as info:
        calls.invite(ConversationParties("c-9", SHOPPER.id, None), SHOPPER, "s", Media.AUDIO, T0)
    assert info.value.code == "no_agent"
    with pytest.raises(NotAllowed) as info2:
        calls.invite(CONVERSATION, OTHER_AGENT, "s", Media.AUDIO, T0)
    assert info2.value.code == "not_the_assignee"
    assert list(calls.live_calls()) == []


def test_a_callee_in_a_call_is_busy() -> None:
    calls = registry()
    first = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    calls.accept(first.id, AGENT, "s-agent", at(2))
    second = calls.invite(CONVERSATION_2, SHOPPER_2, "s-bo", Media.AUDIO, at(3))
    assert (second.state, second.end_reason) == (CallState.ENDED, EndReason.BUSY)
    assert second.ended_at == at(3)
    assert calls.get(second.id) is second
    assert calls.call_of(SHOPPER_2) is None
    assert calls.call_of(AGENT) is first
    assert calls.call_bound_to("s-bo") is None


def test_a_callee_with_a_ringing_incoming_call_is_busy() -> None:
    calls = registry()
    calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    second = calls.invite(CONVERSATION_2, SHOPPER_2, "s-bo", Media.AUDIO, at(1))
    assert second.end_reason is EndReason.BUSY


def test_a_callee_placing_a_call_is_busy() -> None:
    calls = registry()
    outgoing = calls.invite(CONVERSATION, AGENT, "s-agent", Media.VIDEO, T0)
    assert outgoing.callee == SHOPPER
    second = calls.invite(CONVERSATION_2, SHOPPER_2, "s-bo", Media.AUDIO, at(1))
    assert second.end_reason is EndReason.BUSY


def test_a_caller_already_in_a_call_cannot_call_again() -> None:
    calls = registry()
    first = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    with pytest.raises(CannotCall) as info:
        calls.invite(CONVERSATION, SHOPPER, "s-ana-tab-2", Media.AUDIO, at(1))
    assert info.value.code == "already_in_call"
    assert info.value.call_id == first.id
    with pytest.raises(CannotCall):
        calls.invite(CONVERSATION, AGENT, "s-agent", Media.AUDIO, at(1))


def test_free_again_after_the_call_ends() -> None:
    calls = registry()
    first = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    calls.decline(first.id, AGENT, at(2))
    second = calls.invite(CONVERSATION, AGENT, "s-agent", Media.AUDIO, at(3))
    assert second.state is CallState.RINGING


def test_only_the_callee_accepts_and_the_accepting_tab_is_bound() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    with pytest.raises(NotAllowed) as info:
        calls.accept(call.id, SHOPPER, "s-ana-tab-2", at(1))
    assert info.value.code == "not_the_callee"
    calls.accept(call.id, AGENT, "s-agent-tab-2", at(2))
    assert calls.call_bound_to("s-agent-tab-2") is call
    assert calls.call_bound_to("s-agent-tab-1") is None
    with pytest.raises(SignalingError) as info2:
        calls.accept(call.id, AGENT, "s-agent-tab-1", at(3))
    assert info2.value.code == "call_not_ringing"
    assert call.session_of(AGENT) == "s-agent-tab-2"


def test_closing_an_unbound_tab_changes_nothing() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    calls.accept(call.id, AGENT, "s-agent-tab-2", at(2))
    assert calls.connection_closed("s-agent-tab-1", at(3)) is None
    assert call.interrupted == {}


def test_the_caller_closing_while_ringing_drops_the_call() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    assert calls.connection_closed("s-ana", at(4)) is call
    assert (call.end_reason, call.ended_by) == (EndReason.DROPPED, SHOPPER)
    assert calls.call_of(AGENT) is None


def test_lost_connection_then_rejoin_on_a_new_one() -> None:
    calls = registry(reconnect_grace=30)
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    calls.accept(call.id, AGENT, "s-agent", at(2))
    assert calls.connection_closed("s-agent", at(10)) is call
    assert call.state is CallState.ACTIVE
    assert calls.call_bound_to("s-agent") is None
    assert calls.next_deadline() == at(40)
    assert calls.check_timeouts(at(39)) == []
    calls.rejoin(call.id, AGENT, "s-agent-again", at(39))
    assert calls.call_bound_to("s-agent-again") is call
    assert calls.next_deadline() is None
    assert calls.check_timeouts(at(100)) == []


def test_lost_connection_past_the_grace_drops_the_call() -> None:
    calls = registry(reconnect_grace=30)
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.VIDEO, T0)
    calls.accept(call.id, AGENT, "s-agent", at(2))
    calls.connection_closed("s-ana", at(10))
    assert calls.check_timeouts(at(40)) == [call]
    assert (call.end_reason, call.ended_by) == (EndReason.DROPPED, SHOPPER)
    assert calls.call_of(AGENT) is None and calls.call_bound_to("s-agent") is None
    with pytest.raises(SignalingError) as info:
        calls.rejoin(call.id, SHOPPER, "s-ana-2", at(41))
    assert info.value.code == "call_ended"


def test_ring_timeout_misses_and_frees_both() -> None:
    calls = registry(ring_timeout=30)
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    assert calls.check_timeouts(at(29)) == []
    assert calls.check_timeouts(at(30)) == [call]
    assert call.end_reason is EndReason.MISSED
    assert calls.call_of(SHOPPER) is None and calls.call_of(AGENT) is None
    assert calls.next_deadline() is None


def test_ended_calls_are_kept_for_late_frames_then_forgotten() -> None:
    calls = registry(keep_ended=60)
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    calls.cancel(call.id, SHOPPER, at(5))
    with pytest.raises(SignalingError) as info:
        calls.accept(call.id, AGENT, "s-agent", at(6))
    assert info.value.code == "call_ended"
    calls.check_timeouts(at(64.9))
    assert calls.get(call.id) is call
    calls.check_timeouts(at(65))
    with pytest.raises(CallNotFound):
        calls.get(call.id)


def test_abort_ends_a_live_call() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    calls.abort(call.id, at(1))
    assert (call.end_reason, call.ended_by) == (EndReason.FAILED, None)
    assert list(calls.live_calls()) == []


def test_hangup_with_failed_reason() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    calls.accept(call.id, AGENT, "s-agent", at(1))
    calls.hangup(call.id, AGENT, at(2), EndReason.FAILED)
    assert (call.end_reason, call.ended_by) == (EndReason.FAILED, AGENT)


def test_refused_operations_leave_the_indices_alone() -> None:
    calls = registry()
    call = calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    with pytest.raises(NotAllowed):
        calls.cancel(call.id, AGENT, at(1))
    assert calls.call_of(SHOPPER) is call and calls.call_bound_to("s-ana") is call


def test_duplicate_ids_are_refused() -> None:
    calls = CallRegistry(new_id=lambda: "same")
    calls.invite(CONVERSATION, SHOPPER, "s-ana", Media.AUDIO, T0)
    with pytest.raises(RuntimeError):
        calls.invite(CONVERSATION_3, SHOPPER_2, "s-bo", Media.AUDIO, T0)


# --- random sequences of operations ----------------------------------------------------

AGENTS = [Participant.agent(f"a{n}") for n in range(3)]
VISITORS = [Participant.visitor(f"v{n}") for n in range(4)]
PEOPLE = AGENTS + VISITORS
CONVERSATIONS = [
    ConversationParties(f"c{n}", VISITORS[n % 4].id, None if n == 5 else AGENTS[n % 3].id)
    for n in range(6)
]
TABS = 2


def sessions_of(who: Participant) -> list[str]:
    return [f"{who.key}/tab{n}" for n in range(TABS)]


class RegistryMachine(RuleBasedStateMachine):
    """Random operations from every participant; after each, the indices must agree with
    the calls, and each operation's outcome must follow the rules of the previous state."""

    @initialize(grace=st.sampled_from([0.0, 10.0, 30.0]))
    def start(self, grace: float) -> None:
        counter = itertools.count(1)
        self.calls = CallRegistry(
            ring_timeout=30.0,
            reconnect_grace=grace,
            keep_ended=3600.0,
            new_id=lambda: f"call-{next(counter)}",
        )
        self.now = T0
        self.seen: dict[str, Call] = {}

    def tick(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    @rule(
        conversation=st.sampled_from(CONVERSATIONS),
        caller=st.sampled_from(PEOPLE),
        tab=st.integers(0, TABS - 1),
    )
    def invite(self, conversation: ConversationParties, caller: Participant, tab: int) -> None:
        before_caller = self.calls.call_of(caller)
        try:
            call = self.calls.invite(
                conversation, caller, sessions_of(caller)[tab], Media.AUDIO, self.tick(0.5)
            )
        except SignalingError as exc:
            assert exc.code in {"no_agent", "not_the_assignee", "not_a_participant"} or (
                exc.code == "already_in_call" and before_caller is not None
            )
            return
        assert before_caller is None
        self.seen[call.id] = call
        if call.state is CallState.ENDED:
            assert call.end_reason is EndReason.BUSY
            assert self.calls.call_of(call.callee) is not None
        else:
            assert self.calls.call_of(caller) is call

    def pick(self, data: st.DataObject) -> Call:
        return data.draw(st.sampled_from(sorted(self.seen.values(), key=lambda c: c.id)))

    @precondition(lambda self: self.seen)
    @rule(
        data=st.data(),
        op=st.sampled_from(["accept", "decline", "cancel", "hangup", "rejoin"]),
        who=st.sampled_from(PEOPLE),
        tab=st.integers(0, TABS - 1),
    )
    def act(self, data: st.DataObject, op: str, who: Participant, tab: int) -> None:
        call = self.pick(data)
        state_before = call.state
        now = self.tick(1)
        session = sessions_of(who)[tab]
        try:
            if op == "accept":
                self.calls.accept(call.id, who, session, now)
            elif op == "decline":
                self.calls.decline(call.id, who, now)
            elif op == "cancel":
                self.calls.cancel(call.id, who, now)
            elif op == "hangup":
                self.calls.hangup(call.id, who, now)
            else:
                self.calls.rejoin(call.id, who, session, now)
        except SignalingError as exc:
            assert call.state is state_before, "a refused operation changed the call"
            if not call.includes(who):
                assert exc.code == "not_a_participant"
            return
        assert call.includes(who)
        if op in ("accept", "decline"):
            assert who == call.callee and state_before is CallState.RINGING
        if op == "cancel":
            assert who == call.caller and state_before is CallState.RINGING

    @rule(who=st.sampled_from(PEOPLE), tab=st.integers(0, TABS - 1))
    def close_tab(self, who: Participant, tab: int) -> None:
        session = sessions_of(who)[tab]
        bound = self.calls.call_bound_to(session)
        changed = self.calls.connection_closed(session, self.tick(0.5))
        assert changed is bound
        assert self.calls.call_bound_to(session) is None

    @rule(seconds=st.sampled_from([1.0, 9.0, 29.0, 31.0, 120.0]))
    def time_passes(self, seconds: float) -> None:
        due = [
            c
            for c in self.calls.live_calls()
            if (d := c.deadline()) and d <= self.now + timedelta(seconds=seconds)
        ]
        ended = self.calls.check_timeouts(self.tick(seconds))
        assert {c.id for c in ended} == {c.id for c in due}
        for call in ended:
            assert call.end_reason in (EndReason.MISSED, EndReason.DROPPED)

    @invariant()
    def indices_agree_with_the_calls(self) -> None:
        if not hasattr(self, "calls"):
            return
        live = list(self.calls.live_calls())
        in_calls: dict[Participant, Call] = {}
        for call in live:
            assert call.is_live
            assert self.calls.get(call.id) is call
            assert self.calls.call_in(call.conversation_id) is call
            for who in call.participants:
                assert who not in in_calls, "a participant is in two live calls"
                in_calls[who] = call
                assert self.calls.call_of(who) is call
            for session in call.bound_sessions():
                assert self.calls.call_bound_to(session) is call
        for who in PEOPLE:
            if who not in in_calls:
                assert self.calls.call_of(who) is None
            for session in sessions_of(who):
                bound = self.calls.call_bound_to(session)
                assert bound is None or session in bound.bound_sessions()
        conversations = {call.conversation_id for call in live}
        assert len(conversations) == len(live)
        for conversation in CONVERSATIONS:
            if conversation.conversation_id not in conversations:
                assert self.calls.call_in(conversation.conversation_id) is None
        for call in self.seen.values():
            if not call.is_live:
                assert call not in live and call.bound_sessions() == {}
        deadlines = [d for call in live if (d := call.deadline()) is not None]
        assert self.calls.next_deadline() == min(deadlines, default=None)


RegistryMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
test_registry_stays_consistent = RegistryMachine.TestCase
