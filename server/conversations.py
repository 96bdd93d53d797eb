"""Conversations as the inbox sees them: summaries with unread counts, assignment, status.

Every change of assignee or status appends a `conversation.updated` event to the
conversation's log (so it has a seq and is replayed like a message). Read cursors only
move forward; unread = messages from the other side after the reader's cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Principal
from server.chat import append_event, conversation_for, status_change
from server.errors import BadRequest, Conflict, NotFound
from server.protocol import iso
from server.store import Database
from server.store.models import Agent, Conversation, Event, ReadCursor, Visitor

Change = Literal["assigned", "transferred", "closed", "reopened"]
INBOX_MAX_LIMIT = 200


async def unread_counts(
    session: AsyncSession, reader: Principal, conversation_ids: list[str]
) -> dict[str, int]:
    if not conversation_ids:
        return {}
    cursor = ReadCursor
    query = (
        select(Event.conversation_id, func.count())
        .select_from(Event)
        .outerjoin(
            cursor,
            and_(
                cursor.conversation_id == Event.conversation_id,
                cursor.reader_type == reader.kind,
                cursor.reader_id == reader.id,
            ),
        )
        .where(
            Event.conversation_id.in_(conversation_ids),
            Event.type == "message",
            Event.author_type != reader.kind,
            Event.seq > func.coalesce(cursor.last_read_seq, 0),
        )
        .group_by(Event.conversation_id)
    )
    rows = await session.execute(query)
    return {conversation_id: count for conversation_id, count in rows.all()}


def summarize(
    conversation: Conversation,
    visitor: Visitor | None,
    assignee: Agent | None,
    unread: int,
) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "last_seq": conversation.last_seq,
        "last_message_preview": conversation.last_message_preview,
        "last_activity_at": iso(conversation.last_activity_at),
        "created_at": iso(conversation.created_at),
        "unread": unread,
        "visitor": {
            "id": conversation.visitor_id,
            "name": visitor.name if visitor else None,
            "email": visitor.email if visitor else None,
            "external_id": visitor.external_id if visitor else None,
            "language": visitor.language if visitor else None,
        },
        "assignee": {"id": assignee.id, "name": assignee.name} if assignee else None,
    }


async def summaries(
    session: AsyncSession, reader: Principal, conversations: list[Conversation]
) -> list[dict[str, Any]]:
    ids = [c.id for c in conversations]
    unread = await unread_counts(session, reader, ids)
    visitor_ids = {c.visitor_id for c in conversations}
    agent_ids = {c.assignee_id for c in conversations if c.assignee_id}
    visitors = {
        v.id: v for v in await session.scalars(select(Visitor).where(Visitor.id.in_(visitor_ids)))
    }
    agents = {a.id: a for a in await session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))}
    return [
        summarize(
            c,
            visitors.get(c.visitor_id),
            agents.get(c.assignee_id) if c.assignee_id else None,
            unread.get(c.id, 0),
        )
        for c in conversations
    ]


async def inbox(
    db: Database,
    reader: Principal,
    status: str | None,
    assignee: str | None,
    limit: int,
    before: datetime | None = None,
    before_id: str | None = None,
) -> list[dict[str, Any]]:
    """Conversations the reader may see, newest activity first (ties by id), with unread
    counts.

    `assignee`: "me", "unassigned", or an agent id. Paging is by the last item of the
    previous page: `before` its `last_activity_at` and `before_id` its id, so that
    conversations with the very same activity time are neither skipped nor repeated
    (`before` alone pages strictly by time). Shoppers only ever see their own.
    """
    limit = max(1, min(limit, INBOX_MAX_LIMIT))
    query = select(Conversation).where(Conversation.tenant_id == reader.tenant_id)
    if reader.kind == "visitor":
        query = query.where(Conversation.visitor_id == reader.id)
    else:
        # Conversations nobody wrote in yet are not work for the inbox.
        query = query.where(Conversation.last_seq > 0)
    if status is not None:
        if status not in ("open", "closed"):
            raise BadRequest("status must be open or closed", "invalid_status")
        query = query.where(Conversation.status == status)
    if assignee == "me":
        query = query.where(Conversation.assignee_id == reader.id)
    elif assignee == "unassigned":
        query = query.where(Conversation.assignee_id.is_(None))
    elif assignee:
        query = query.where(Conversation.assignee_id == assignee)
    if before is not None:
        if before.tzinfo is None:  # a cursor without a zone is UTC, like every time we send
            before = before.replace(tzinfo=UTC)
        if before_id is None:
            query = query.where(Conversation.last_activity_at < before)
        else:
            query = query.where(
                or_(
                    Conversation.last_activity_at < before,
                    and_(Conversation.last_activity_at == before, Conversation.id > before_id),
                )
            )
    query = query.order_by(Conversation.last_activity_at.desc(), Conversation.id).limit(limit)
    async with db.read() as session:
        conversations = list(await session.scalars(query))
        return await summaries(session, reader, conversations)


async def conversation_summary(
    db: Database, reader: Principal, conversation_id: str
) -> dict[str, Any]:
    async with db.read() as session:
        conversation = await conversation_for(session, reader, conversation_id)
        return (await summaries(session, reader, [conversation]))[0]


async def _agent_in_tenant(session: AsyncSession, tenant_id: str, agent_id: str) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None or agent.tenant_id != tenant_id or not agent.active:
        raise NotFound("no such agent", "agent_not_found")
    return agent


async def change_conversation(
    db: Database,
    actor: Principal,
    conversation_id: str,
    change: Change,
    agent_id: str | None = None,
    note: str | None = None,
) -> tuple[Conversation, list[Event]]:
    """Assign, transfer, close or reopen; returns the conversation and the events to publish."""
    actor.require_staff()
    async with db.write() as session:
        conversation = await conversation_for(session, actor, conversation_id, lock=True)
        extra: dict[str, Any] = {}
        if change in ("assigned", "transferred"):
            previous = conversation.assignee_id
            if agent_id is None and change == "transferred":
                raise BadRequest("a transfer needs agent_id", "invalid_request")
            if agent_id is not None:
                target = await _agent_in_tenant(session, actor.tenant_id, agent_id)
                extra["assignee_name"] = target.name
            if previous == agent_id:
                return conversation, []
            conversation.assignee_id = agent_id
            extra["previous_assignee_id"] = previous
            if note:
                extra["note"] = note[:500]
        elif change == "closed":
            if conversation.status == "closed":
                raise Conflict("the conversation is already closed", "already_closed")
            conversation.status = "closed"
        elif change == "reopened":
            if conversation.status == "open":
                raise Conflict("the conversation is already open", "already_open")
            conversation.status = "open"
        event = append_event(
            session,
            conversation,
            "conversation.updated",
            actor,
            status_change(conversation, change, **extra),
        )
    return conversation, [event]


async def mark_read(db: Database, reader: Principal, conversation_id: str, seq: int) -> int:
    """Move the reader's cursor forward to `seq` (never back, never past the head)."""
    async with db.write() as session:
        conversation = await conversation_for(session, reader, conversation_id)
        seq = min(seq, conversation.last_seq)
        cursor = await session.get(ReadCursor, (conversation.id, reader.kind, reader.id))
        if cursor is None:
            session.add(
                ReadCursor(
                    conversation_id=conversation.id,
                    reader_type=reader.kind,
                    reader_id=reader.id,
                    last_read_seq=seq,
                )
            )
            return seq
        if seq > cursor.last_read_seq:
            cursor.last_read_seq = seq
        return cursor.last_read_seq
