"""Who takes part in a call: participants as (kind, id) pairs, and who a caller reaches.

A conversation has one shopper (a `visitor`) and at most one assigned `agent`. Calls are
between exactly those two: a shopper calling reaches the assigned agent; an agent calling
reaches the shopper. The rules, with the codes they refuse with:

- the shopper of an unassigned conversation has nobody to call: `no_agent` (the UI
  offers the call once an agent has taken the conversation);
- an agent who is not the assignee (a supervisor, a colleague) may not call: it would make
  a third party of the conversation. `not_the_assignee`: take the conversation first;
- anyone else (another shopper): `not_a_participant`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from signaling.errors import CannotCall, NotAllowed

ParticipantKind = Literal["agent", "visitor"]


@dataclass(frozen=True, slots=True)
class Participant:
    """One side of a call: a person, whatever number of connections (tabs) they have."""

    kind: ParticipantKind
    id: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(ParticipantKind):
            raise ValueError(f"a participant is an agent or a visitor, not {self.kind!r}")
        if not self.id:
            raise ValueError("a participant needs an id")

    @classmethod
    def agent(cls, agent_id: str) -> Participant:
        return cls("agent", agent_id)

    @classmethod
    def visitor(cls, visitor_id: str) -> Participant:
        return cls("visitor", visitor_id)

    @property
    def key(self) -> str:
        """`<kind>-<id>`: a flat name for keys (Redis) and TURN user ids (no `:`)."""
        return f"{self.kind}-{self.id}"

    def as_json(self) -> dict[str, str]:
        return {"type": self.kind, "id": self.id}


@dataclass(frozen=True, slots=True)
class ConversationParties:
    """The people of one conversation, as the gateway read them from the store."""

    conversation_id: str
    visitor_id: str
    assignee_id: str | None

    @property
    def visitor(self) -> Participant:
        return Participant.visitor(self.visitor_id)

    @property
    def assignee(self) -> Participant | None:
        return Participant.agent(self.assignee_id) if self.assignee_id else None


def resolve_callee(parties: ConversationParties, caller: Participant) -> Participant:
    """The participant `caller` reaches by calling in this conversation, or a refusal."""
    if caller == parties.visitor:
        assignee = parties.assignee
        if assignee is None:
            raise CannotCall(
                "nobody is assigned to this conversation yet; try again once an agent joins",
                "no_agent",
            )
        return assignee
    if caller.kind == "agent":
        if caller == parties.assignee:
            return parties.visitor
        raise NotAllowed(
            "only the assigned agent may call the shopper; take the conversation first",
            "not_the_assignee",
        )
    raise NotAllowed("you are not a participant of this conversation", "not_a_participant")
