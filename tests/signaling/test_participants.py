"""Who a caller reaches in a conversation, and who may not call at all."""

from __future__ import annotations

import pytest

from signaling.errors import CannotCall, NotAllowed
from signaling.participants import ConversationParties, Participant, resolve_callee
from tests.signaling.support import AGENT, CONVERSATION, OTHER_AGENT, OUTSIDER, SHOPPER


def test_the_shopper_reaches_the_assigned_agent() -> None:
    assert resolve_callee(CONVERSATION, SHOPPER) == AGENT


def test_the_assigned_agent_reaches_the_shopper() -> None:
    assert resolve_callee(CONVERSATION, AGENT) == SHOPPER


def test_an_unassigned_conversation_has_no_agent_to_call() -> None:
    unassigned = ConversationParties("c-2", SHOPPER.id, None)
    with pytest.raises(CannotCall) as info:
        resolve_callee(unassigned, SHOPPER)
    assert info.value.code == "no_agent"


def test_other_agents_must_take_the_conversation_first() -> None:
    with pytest.raises(NotAllowed) as info:
        resolve_callee(CONVERSATION, OTHER_AGENT)
    assert info.value.code == "not_the_assignee"
    unassigned = ConversationParties("c-2", SHOPPER.id, None)
    with pytest.raises(NotAllowed) as info:
        resolve_callee(unassigned, AGENT)
    assert info.value.code == "not_the_assignee"


def test_another_shopper_is_not_a_participant() -> None:
    with pytest.raises(NotAllowed) as info:
        resolve_callee(CONVERSATION, OUTSIDER)
    assert info.value.code == "not_a_participant"


def test_kinds_are_not_confused_by_equal_ids() -> None:
    """An agent whose id equals the shopper's id is still not the shopper."""
    parties = ConversationParties("c-3", "same", "other")
    with pytest.raises(NotAllowed) as info:
        resolve_callee(parties, Participant.agent("same"))
    assert info.value.code == "not_the_assignee"
    assert resolve_callee(parties, Participant.visitor("same")) == Participant.agent("other")


def test_participants_are_checked_values() -> None:
    with pytest.raises(ValueError):
        Participant("supervisor", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Participant.agent("")
    assert Participant.visitor("v1").key == "visitor-v1"
    assert Participant.agent("a1").as_json() == {"type": "agent", "id": "a1"}
    assert Participant.agent("a1") == Participant("agent", "a1")
    assert len({Participant.agent("a1"), Participant("agent", "a1")}) == 1
