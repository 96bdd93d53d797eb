"""Routing: capacity, stickiness, least loaded, idle longest, fallback, queue order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from server.scheduling.agents import MatchLevel
from server.scheduling.demo import demo_schedule
from server.scheduling.errors import SchedulingError
from server.scheduling.routing import (
    AgentState,
    Assignment,
    Choice,
    QueuedConversation,
    RouteReason,
    assign_queued,
    choose_agent,
    queue_order,
    queue_position,
    reoffer_due,
)
from tests.scheduling.support import utc

NOW = utc(2026, 3, 3, 3)


def agent(
    agent_id: str,
    *,
    languages: tuple[str, ...] = ("en",),
    markets: tuple[str, ...] = ("US",),
    load: int = 0,
    capacity: int = 3,
    idle_minutes: int = 0,
    online: bool = True,
    on_shift: bool = True,
) -> AgentState:
    return AgentState(
        agent_id=agent_id,
        online=online,
        on_shift=on_shift,
        languages=languages,
        markets=markets,
        capacity=capacity,
        load=load,
        idle_since=NOW - timedelta(minutes=idle_minutes),
    )


def chosen(*agents: AgentState, previous: str | None = None, language: str = "en") -> str | None:
    choice = choose_agent(agents, "US", language, previous)
    return None if choice is None else choice.agent_id


def test_only_online_on_shift_agents_below_capacity_are_chosen() -> None:
    assert chosen(agent("a", online=False)) is None
    assert chosen(agent("a", on_shift=False)) is None
    assert chosen(agent("a", load=3, capacity=3)) is None
    assert chosen(agent("a", load=3, capacity=3), agent("b", load=2, capacity=3)) == "b"
    assert chosen(agent("a", languages=("de",))) is None


def test_the_previous_agent_is_preferred_when_eligible() -> None:
    busy, free = agent("busy", load=2, capacity=3), agent("free")
    choice = choose_agent([busy, free], "US", "en", previous_agent_id="busy")
    assert choice == Choice("busy", MatchLevel.MARKET_AND_LANGUAGE, RouteReason.PREVIOUS_AGENT)
    full = replace(busy, load=3)
    assert chosen(full, free, previous="busy") == "free"
    assert chosen(replace(busy, online=False), free, previous="busy") == "free"
    assert chosen(busy, free, previous="someone-else") == "free"


def test_least_loaded_then_idle_longest_then_id() -> None:
    assert chosen(agent("a", load=2), agent("b", load=1), agent("c", load=2)) == "b"
    assert chosen(agent("a", idle_minutes=5), agent("b", idle_minutes=30)) == "b"
    assert chosen(agent("b"), agent("a")) == "a"
    choice = choose_agent([agent("a", load=1), agent("b")], "US", "en")
    assert choice == Choice("b", MatchLevel.MARKET_AND_LANGUAGE, RouteReason.LEAST_LOADED)


def test_fallback_from_market_and_language_to_language_only() -> None:
    elsewhere = agent("elsewhere", markets=("BR",), languages=("en", "pt"))
    local = agent("local", load=2)
    # A market agent, even busier, comes first.
    assert chosen(elsewhere, local) == "local"
    choice = choose_agent([elsewhere, replace(local, load=3)], "US", "en-GB")
    assert choice == Choice("elsewhere", MatchLevel.LANGUAGE_ONLY, RouteReason.LEAST_LOADED)
    assert choose_agent([elsewhere], "US", "en", fallback_to_language=False) is None
    # The previous agent is sticky at the level that is reached.
    sticky = choose_agent([elsewhere, agent("other", markets=("DE",))], "US", "en", "elsewhere")
    assert sticky == Choice("elsewhere", MatchLevel.LANGUAGE_ONLY, RouteReason.PREVIOUS_AGENT)
    assert chosen(elsewhere, language="ja") is None


def test_exclude_leaves_out_the_agent_a_conversation_is_taken_from() -> None:
    agents = [agent("slow"), agent("other", load=2)]
    assert choose_agent(agents, "US", "en", "slow", exclude={"slow"}) == Choice(
        "other", MatchLevel.MARKET_AND_LANGUAGE, RouteReason.LEAST_LOADED
    )
    assert reoffer_due(NOW, NOW + timedelta(minutes=5), timedelta(minutes=5), answered=False)
    assert not reoffer_due(NOW, NOW + timedelta(minutes=4), timedelta(minutes=5), answered=False)
    assert not reoffer_due(NOW, NOW + timedelta(hours=1), timedelta(minutes=5), answered=True)


def queued(conversation_id: str, minutes_ago: int, **extra: str) -> QueuedConversation:
    fields = {"market": "US", "language": "en", **extra}
    return QueuedConversation(
        conversation_id,
        fields.pop("market"),
        fields.pop("language"),
        NOW - timedelta(minutes=minutes_ago),
        **fields,
    )


def test_the_queue_is_served_oldest_first() -> None:
    queue = [queued("new", 1), queued("old", 30), queued("middle-b", 10), queued("middle-a", 10)]
    assert [q.conversation_id for q in queue_order(queue)] == ["old", "middle-a", "middle-b", "new"]
    assert queue_position(queue, "middle-b") == 3
    assert queue_position(queue, "gone") is None
    assigned = assign_queued(queue, [agent("a", capacity=2)], NOW)
    assert [(x.conversation_id, x.agent_id) for x in assigned] == [("old", "a"), ("middle-a", "a")]


def test_assignments_spread_by_load_and_count_against_capacity() -> None:
    queue = [queued(f"c{i}", 10 - i) for i in range(5)]
    agents = [agent("a", load=1, capacity=2, idle_minutes=60), agent("b", capacity=2)]
    assigned = assign_queued(queue, agents, NOW)
    # b (load 0) first; then a and b tie at 1, a idle longer; then b (a is now full).
    assert [(x.conversation_id, x.agent_id) for x in assigned] == [
        ("c0", "b"),
        ("c1", "a"),
        ("c2", "b"),
    ]


def test_a_conversation_nobody_can_take_does_not_block_younger_ones() -> None:
    queue = [
        queued("japanese", 30, language="ja", market="JP"),
        queued("english", 5),
        queued("returning", 1, previous_agent_id="b"),
    ]
    agents = [agent("a"), agent("b", load=2)]
    assigned = assign_queued(queue, agents, NOW)
    assert assigned == [
        Assignment("english", "a", MatchLevel.MARKET_AND_LANGUAGE, RouteReason.LEAST_LOADED),
        Assignment("returning", "b", MatchLevel.MARKET_AND_LANGUAGE, RouteReason.PREVIOUS_AGENT),
    ]
    assert assign_queued(queue, [agent("a", online=False)], NOW) == []


def test_agent_state_from_the_demo_schedule() -> None:
    li_wei, chen_jing = demo_schedule().agents
    at = utc(2026, 3, 3, 3)  # Tuesday 11:00 in Shanghai
    states = [
        AgentState.for_agent(a, at, online=True, load=0, idle_since=at) for a in (li_wei, chen_jing)
    ]
    assert [(s.agent_id, s.on_shift, s.capacity) for s in states] == [
        (li_wei.agent_id, True, 3),
        (chen_jing.agent_id, False, 3),
    ]
    assert choose_agent(states, "BR", "pt") is None
    choice = choose_agent(states, "BR", "en")
    assert choice == Choice(li_wei.agent_id, MatchLevel.LANGUAGE_ONLY, RouteReason.LEAST_LOADED)


def test_queued_conversations_round_trip_and_states_refuse_nonsense() -> None:
    item = queued("c1", 3, previous_agent_id="a")
    assert QueuedConversation.from_dict(item.to_dict()) == item
    with pytest.raises(SchedulingError):
        agent("a", load=-1)
    with pytest.raises(SchedulingError):
        AgentState("a", True, True, ("en",), ("US",), 1, 0, datetime(2026, 1, 1))
