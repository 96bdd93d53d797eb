"""Conversations over REST: the inbox, one conversation, its history by page, and changes.

Agents see their tenant's conversations; a shopper's token sees only the shopper's own.
Every change is committed first, then published to WebSocket followers like any event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import CurrentAgent, CurrentPrincipal, RuntimeDep
from server.auth import Principal
from server.chat import conversation_for
from server.conversations import Change, change_conversation, conversation_summary, inbox
from server.errors import BadRequest
from server.events import event_to_frame
from server.runtime import Runtime
from server.store.models import Event

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])

HISTORY_MAX_LIMIT = 200


class AssignRequest(BaseModel):
    agent_id: str | None = Field(default=None, max_length=64)


class TransferRequest(BaseModel):
    agent_id: str = Field(min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=500)


@router.get("")
async def list_conversations(
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    status: Annotated[str | None, Query(description="open or closed")] = None,
    assignee: Annotated[str | None, Query(description="me, unassigned or an agent id")] = None,
    before: Annotated[
        datetime | None, Query(description="the previous page's `next.before`")
    ] = None,
    before_id: Annotated[
        str | None, Query(max_length=64, description="the previous page's `next.before_id`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The inbox, newest activity first. `next` is the cursor of the following page
    (null on the last one): pass its `before` and `before_id`."""
    items = await inbox(runtime.db, principal, status, assignee, limit, before, before_id)
    last = items[-1] if len(items) == limit else None
    cursor = {"before": last["last_activity_at"], "before_id": last["id"]} if last else None
    return {"conversations": items, "next": cursor}


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: str, principal: CurrentPrincipal, runtime: RuntimeDep
) -> dict[str, Any]:
    return await conversation_summary(runtime.db, principal, conversation_id)


async def _history(
    runtime: Runtime,
    principal: Principal,
    conversation_id: str,
    before_seq: int | None,
    after_seq: int | None,
    limit: int,
    messages_only: bool,
) -> dict[str, Any]:
    if before_seq is not None and after_seq is not None:
        raise BadRequest("give before_seq or after_seq, not both", "invalid_request")
    async with runtime.db.read() as session:
        conversation = await conversation_for(session, principal, conversation_id)
        query = select(Event).where(Event.conversation_id == conversation.id)
        if messages_only:
            query = query.where(Event.type == "message")
        if after_seq is not None:
            query = query.where(Event.seq > after_seq).order_by(Event.seq)
        else:
            if before_seq is not None:
                query = query.where(Event.seq < before_seq)
            query = query.order_by(Event.seq.desc())
        rows = list(await session.scalars(query.limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    rows.sort(key=lambda event: event.seq)
    return {
        "conversation_id": conversation.id,
        "last_seq": conversation.last_seq,
        "has_more": has_more,
        "events": [event_to_frame(event) for event in rows],
    }


@router.get("/{conversation_id}/events")
async def conversation_events(
    conversation_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    after_seq: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Every event (messages and changes) as the WebSocket frames, oldest first.

    Without a cursor: the newest page. `before_seq` pages back; `after_seq` pages forward.
    """
    return await _history(
        runtime, principal, conversation_id, before_seq, after_seq, limit, messages_only=False
    )


@router.get("/{conversation_id}/messages")
async def conversation_messages(
    conversation_id: str,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    after_seq: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = 50,
) -> dict[str, Any]:
    """Only the messages, paged like /events."""
    return await _history(
        runtime, principal, conversation_id, before_seq, after_seq, limit, messages_only=True
    )


async def _change(
    runtime: Runtime,
    agent: Principal,
    conversation_id: str,
    change: Change,
    agent_id: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    conversation, events = await change_conversation(
        runtime.db, agent, conversation_id, change, agent_id, note
    )
    await runtime.notifier.publish_events(agent.tenant_id, conversation.visitor_id, events)
    if events:
        for listener in runtime.hooks.after_change:
            runtime.hooks.spawn(listener(runtime, agent, conversation, events), "after_change")
    return await conversation_summary(runtime.db, agent, conversation_id)


@router.post("/{conversation_id}/assign")
async def assign(
    conversation_id: str, body: AssignRequest, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    """Assign to an agent of the tenant (`agent_id`), or unassign (`null`)."""
    return await _change(runtime, agent, conversation_id, "assigned", body.agent_id)


@router.post("/{conversation_id}/transfer")
async def transfer(
    conversation_id: str, body: TransferRequest, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    return await _change(runtime, agent, conversation_id, "transferred", body.agent_id, body.note)


@router.post("/{conversation_id}/close")
async def close(conversation_id: str, agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    return await _change(runtime, agent, conversation_id, "closed")


@router.post("/{conversation_id}/reopen")
async def reopen(conversation_id: str, agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    return await _change(runtime, agent, conversation_id, "reopened")
