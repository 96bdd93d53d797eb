"""Routing: which agent takes a conversation, and which queued conversations go now.

Pure decisions over a snapshot of agents' state; the caller supplies presence, whether
each agent is on shift (`AgentState.for_agent` asks `shifts.on_shift`) and current loads.

An agent is available when online, on shift and below capacity. For a conversation the
levels of `agents.MatchLevel` are tried in order (market and language, then language
only); at the first level with an available agent:

1. the shopper's previous agent, if available at that level (stickiness);
2. else the least loaded (fewest open conversations), ties going to the agent idle
   longest (earliest `idle_since`), then to the smaller agent id so the choice is stable;

and no available agent at any level queues the conversation. The queue is served oldest
first (ties by conversation id); a conversation nobody can take now does not hold up
younger ones that someone can.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from server.scheduling.agents import Agent, MatchLevel, match_levels, suits
from server.scheduling.codec import instant_from_json, instant_to_json
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import as_utc
from server.scheduling.shifts import on_shift

__all__ = [
    "AgentState",
    "Assignment",
    "Choice",
    "QueuedConversation",
    "RouteReason",
    "assign_queued",
    "choose_agent",
    "queue_order",
    "queue_position",
    "reoffer_due",
]


@dataclass(frozen=True)
class AgentState:
    """An agent at one moment: presence, shift, skills, capacity and load.

    `idle_since` is when the agent was last assigned a conversation (or came online, if
    later): the earlier, the longer they have waited for work.
    """

    agent_id: str
    online: bool
    on_shift: bool
    languages: tuple[str, ...]
    markets: tuple[str, ...]
    capacity: int
    load: int
    idle_since: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "idle_since", as_utc(self.idle_since))
        if self.load < 0 or self.capacity < 0:
            raise SchedulingError(f"agent {self.agent_id}: load and capacity cannot be negative")

    @property
    def available(self) -> bool:
        return self.online and self.on_shift and self.load < self.capacity

    @classmethod
    def for_agent(
        cls, agent: Agent, at_utc: datetime, *, online: bool, load: int, idle_since: datetime
    ) -> AgentState:
        """The state of `agent` at `at`, on shift by their schedule."""
        return cls(
            agent_id=agent.agent_id,
            online=online,
            on_shift=on_shift(agent.schedule, at_utc),
            languages=agent.languages,
            markets=agent.markets,
            capacity=agent.max_chats,
            load=load,
            idle_since=idle_since,
        )


class RouteReason(Enum):
    """Why an agent was chosen."""

    PREVIOUS_AGENT = "previous_agent"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class Choice:
    """The agent chosen for a conversation, at which level and why."""

    agent_id: str
    match: MatchLevel
    reason: RouteReason


def choose_agent(
    agents: Iterable[AgentState],
    market: str,
    language: str,
    previous_agent_id: str | None = None,
    *,
    fallback_to_language: bool = True,
    exclude: Collection[str] = (),
) -> Choice | None:
    """The agent for a new or reopened conversation, or None to queue it.

    `exclude` leaves agents out, e.g. the one a conversation is being taken from.
    """
    available = [a for a in agents if a.available and a.agent_id not in exclude]
    for level in match_levels(fallback_to_language):
        pool = [a for a in available if suits(a.languages, a.markets, market, language, level)]
        if not pool:
            continue
        if previous_agent_id is not None and any(a.agent_id == previous_agent_id for a in pool):
            return Choice(previous_agent_id, level, RouteReason.PREVIOUS_AGENT)
        best = min(pool, key=lambda a: (a.load, a.idle_since, a.agent_id))
        return Choice(best.agent_id, level, RouteReason.LEAST_LOADED)
    return None


@dataclass(frozen=True)
class QueuedConversation:
    """A conversation waiting for an agent since `queued_at`."""

    conversation_id: str
    market: str
    language: str
    queued_at: datetime
    previous_agent_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "queued_at", as_utc(self.queued_at))

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "market": self.market,
            "language": self.language,
            "queued_at": instant_to_json(self.queued_at),
            "previous_agent_id": self.previous_agent_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueuedConversation:
        return cls(
            conversation_id=data["conversation_id"],
            market=data["market"],
            language=data["language"],
            queued_at=instant_from_json(data["queued_at"]),
            previous_agent_id=data.get("previous_agent_id"),
        )


def queue_order(queue: Iterable[QueuedConversation]) -> list[QueuedConversation]:
    """The queue oldest first, ties by conversation id."""
    return sorted(queue, key=lambda q: (q.queued_at, q.conversation_id))


def queue_position(queue: Iterable[QueuedConversation], conversation_id: str) -> int | None:
    """The 1-based position of `conversation_id` in the queue, or None if not queued."""
    for position, queued in enumerate(queue_order(queue), start=1):
        if queued.conversation_id == conversation_id:
            return position
    return None


@dataclass(frozen=True)
class Assignment:
    """A queued conversation given to an agent."""

    conversation_id: str
    agent_id: str
    match: MatchLevel
    reason: RouteReason


def assign_queued(
    queue: Iterable[QueuedConversation],
    agents: Iterable[AgentState],
    now: datetime,
    *,
    fallback_to_language: bool = True,
) -> list[Assignment]:
    """The queued conversations that can be assigned now, oldest first, and to whom.

    Each assignment counts against the agent's capacity (and restarts their idle time at
    `now`) before the next conversation is considered.
    """
    now = as_utc(now)
    states = {a.agent_id: a for a in agents}
    assignments = []
    for queued in queue_order(queue):
        choice = choose_agent(
            states.values(),
            queued.market,
            queued.language,
            queued.previous_agent_id,
            fallback_to_language=fallback_to_language,
        )
        if choice is None:
            continue
        state = states[choice.agent_id]
        states[choice.agent_id] = replace(state, load=state.load + 1, idle_since=now)
        assignments.append(
            Assignment(queued.conversation_id, choice.agent_id, choice.match, choice.reason)
        )
    return assignments


def reoffer_due(assigned_at: datetime, now: datetime, limit: timedelta, *, answered: bool) -> bool:
    """Whether an assigned conversation still unanswered after `limit` goes to another agent.

    The caller then routes it again with `choose_agent(..., exclude={current agent})`.
    """
    return not answered and as_utc(now) - as_utc(assigned_at) >= limit
