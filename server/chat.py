"""The conversation log: post a message, append an event, replay what came after a seq.

`post_message` is the heart of the delivery guarantee. In ONE transaction it locks the
conversation row, looks for an earlier copy with the same client id (a resend), takes
the next `seq` and inserts the message. Only the caller, after commit, acks and
publishes. So an acked message is durable, a resend never duplicates, and `seq` is
strictly increasing per conversation on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Principal
from server.errors import BadRequest, NotFound
from server.store import Database
from server.store.models import Conversation, Event, utcnow

PREVIEW_CHARS = 140


@dataclass(slots=True)
class Posted:
    """What `post_message` did: the message, events to publish, and whether it was a resend."""

    message: Event
    conversation: Conversation
    duplicate: bool
    new_events: list[Event] = field(default_factory=list)


def clean_text(text: str, max_chars: int) -> str:
    """Trim surrounding blank space; refuse empty (`text_empty`) or too long (`text_too_long`)."""
    cleaned = text.strip()
    if not cleaned:
        raise BadRequest("the message is empty", "text_empty")
    if len(cleaned) > max_chars:
        raise BadRequest(
            f"the message has {len(cleaned)} characters; the limit is {max_chars}",
            "text_too_long",
        )
    if "\x00" in cleaned:
        raise BadRequest("the message contains a NUL character", "invalid_text")
    return cleaned


async def conversation_for(
    session: AsyncSession, principal: Principal, conversation_id: str, lock: bool = False
) -> Conversation:
    """The conversation if `principal` may see it, else `conversation_not_found` (no leak)."""
    query = select(Conversation).where(
        Conversation.id == conversation_id, Conversation.tenant_id == principal.tenant_id
    )
    if principal.kind == "visitor":
        query = query.where(Conversation.visitor_id == principal.id)
    if lock:
        query = query.with_for_update()
    conversation = await session.scalar(query)
    if conversation is None:
        raise NotFound("no such conversation", "conversation_not_found")
    return conversation


def author_fields(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {"author_type": "system", "author_id": None, "author_name": "Kefu"}
    return {
        "author_type": principal.kind,
        "author_id": principal.id,
        "author_name": principal.name,
    }


def append_event(
    session: AsyncSession,
    conversation: Conversation,
    event_type: str,
    author: Principal | None,
    data: dict[str, Any] | None = None,
    text: str | None = None,
    client_id: str | None = None,
) -> Event:
    """Add one event with the conversation's next seq. The caller holds the row lock."""
    fields = author_fields(author)
    conversation.last_seq += 1
    conversation.last_activity_at = utcnow()
    event = Event(
        conversation_id=conversation.id,
        seq=conversation.last_seq,
        type=event_type,
        author_type=fields["author_type"],
        author_id=fields["author_id"],
        client_id=client_id,
        text=text,
        data={**(data or {}), "author_name": fields["author_name"]},
        created_at=utcnow(),
    )
    session.add(event)
    return event


def status_change(conversation: Conversation, change: str, **extra: Any) -> dict[str, Any]:
    return {
        "change": change,
        "status": conversation.status,
        "assignee_id": conversation.assignee_id,
        **extra,
    }


async def post_message(
    db: Database,
    principal: Principal,
    conversation_id: str,
    client_id: str,
    text: str,
    max_chars: int,
) -> Posted:
    cleaned = clean_text(text, max_chars)
    for attempt in range(2):
        try:
            async with db.write() as session:
                conversation = await conversation_for(
                    session, principal, conversation_id, lock=True
                )
                earlier = await session.scalar(
                    select(Event).where(
                        Event.conversation_id == conversation.id,
                        Event.author_type == principal.kind,
                        Event.author_id == principal.id,
                        Event.client_id == client_id,
                    )
                )
                if earlier is not None:
                    return Posted(earlier, conversation, duplicate=True)
                new_events = []
                if conversation.status == "closed":
                    conversation.status = "open"
                    new_events.append(
                        append_event(
                            session,
                            conversation,
                            "conversation.updated",
                            principal,
                            status_change(conversation, "reopened"),
                        )
                    )
                message = append_event(
                    session, conversation, "message", principal, text=cleaned, client_id=client_id
                )
                new_events.append(message)
                conversation.last_message_preview = cleaned[:PREVIEW_CHARS]
            return Posted(message, conversation, duplicate=False, new_events=new_events)
        except IntegrityError:
            # Two copies of one resend raced past the lookup; the loser finds the winner.
            if attempt:
                raise
    raise AssertionError("unreachable")


async def events_after(
    db: Database, conversation_id: str, after_seq: int, limit: int, until_seq: int | None = None
) -> list[Event]:
    """Events with seq > after_seq (and < until_seq if given), oldest first, at most limit."""
    query = select(Event).where(Event.conversation_id == conversation_id, Event.seq > after_seq)
    if until_seq is not None:
        query = query.where(Event.seq < until_seq)
    async with db.read() as session:
        result = await session.scalars(query.order_by(Event.seq).limit(limit))
        return list(result)
