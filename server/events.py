"""Conversation events on the wire and on the bus: serialization and fan-out channels.

Every event in a conversation's log becomes one frame (`message.new`,
`conversation.updated`). After commit it is published, wrapped in an envelope
`{conversation_id, seq, frame}`, on two channels:

- `staff:<tenant id>`: every agent and admin connection of the tenant;
- `visitor:<visitor id>`: every tab of the shopper who owns the conversation.

Ephemeral frames (`typing`, `read`, `presence`) travel the same way with `seq` None and
are never stored or replayed.
"""

from __future__ import annotations

import time
from typing import Any

from server.bus import Bus, Message
from server.protocol import iso
from server.store.models import Event


def staff_channel(tenant_id: str) -> str:
    return f"staff:{tenant_id}"


def visitor_channel(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


def author_of(event: Event) -> dict[str, Any]:
    return {
        "type": event.author_type,
        "id": event.author_id,
        "name": event.data.get("author_name", ""),
    }


def message_payload(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "author": author_of(event),
        "text": event.text or "",
        "client_id": event.client_id,
        "created_at": iso(event.created_at),
    }


def event_to_frame(event: Event) -> dict[str, Any]:
    """The frame a follower receives for one stored event (live or replayed alike)."""
    if event.type == "message":
        return {
            "type": "message.new",
            "conversation_id": event.conversation_id,
            "seq": event.seq,
            "message": message_payload(event),
        }
    data = {key: value for key, value in event.data.items() if key != "author_name"}
    return {
        "type": event.type,
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "by": author_of(event),
        "created_at": iso(event.created_at),
        **data,
    }


class Notifier:
    """Publishes committed events and ephemeral frames to the right bus channels."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def publish_events(self, tenant_id: str, visitor_id: str, events: list[Event]) -> None:
        for event in events:
            await self._publish(
                tenant_id, visitor_id, event.conversation_id, event.seq, event_to_frame(event)
            )

    async def publish_ephemeral(
        self,
        tenant_id: str,
        visitor_id: str | None,
        conversation_id: str | None,
        frame: dict[str, Any],
        to_visitor: bool = True,
    ) -> None:
        target = visitor_id if to_visitor else None
        await self._publish(tenant_id, target, conversation_id, None, frame)

    async def _publish(
        self,
        tenant_id: str,
        visitor_id: str | None,
        conversation_id: str | None,
        seq: int | None,
        frame: dict[str, Any],
    ) -> None:
        envelope: Message = {
            "conversation_id": conversation_id,
            "seq": seq,
            "frame": frame,
            "ts": time.time(),
        }
        await self.bus.publish(staff_channel(tenant_id), envelope)
        if visitor_id is not None:
            await self.bus.publish(visitor_channel(visitor_id), envelope)
