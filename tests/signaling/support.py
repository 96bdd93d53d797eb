"""Shared fixtures of the signaling tests: instants, people, a conversation, a call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signaling.participants import ConversationParties, Participant
from signaling.state import Call, Media

T0 = datetime(2026, 11, 28, 17, 0, 0, tzinfo=UTC)

SHOPPER = Participant.visitor("v-ana")
AGENT = Participant.agent("a-liwei")
OTHER_AGENT = Participant.agent("a-zhang")
OUTSIDER = Participant.visitor("v-mallory")

CONVERSATION = ConversationParties("c-1", SHOPPER.id, AGENT.id)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_call(
    *,
    caller: Participant = SHOPPER,
    callee: Participant = AGENT,
    ring_timeout: float | None = 30.0,
    reconnect_grace: float = 30.0,
    media: Media = Media.VIDEO,
) -> Call:
    return Call(
        id="call-1",
        conversation_id="c-1",
        caller=caller,
        callee=callee,
        media=media,
        caller_session="s-caller",
        created_at=T0,
        ring_timeout=ring_timeout,
        reconnect_grace=reconnect_grace,
    )


def active_call(**kwargs: object) -> Call:
    call = new_call(**kwargs)  # type: ignore[arg-type]
    call.accept(call.callee, "s-callee", at(5))
    return call
