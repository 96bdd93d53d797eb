"""An assignment left unanswered past `routing_reoffer_after_seconds` goes to another agent;
an answered one stays. The limit is lowered to 1.5 s for this test only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.harness import RunningServer
from tests.routing.support import (
    assignment,
    close_all,
    online,
    routed_tenant,
    shopper_writes,
    summary,
    wait_for,
)

LIMIT = 1.5


@pytest.fixture
def quick_reoffer(rserver: RunningServer) -> Iterator[None]:
    settings = rserver.runtime.settings
    before = settings.routing_reoffer_after_seconds
    settings.routing_reoffer_after_seconds = LIMIT
    try:
        yield
    finally:
        settings.routing_reoffer_after_seconds = before


def transferred(conversation_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: (
        f.get("type") == "conversation.updated"
        and f.get("conversation_id") == conversation_id
        and f.get("change") == "transferred"
    )


async def test_unanswered_conversation_is_offered_to_another_agent(
    rserver: RunningServer, rhttp: httpx.AsyncClient, quick_reoffer: None
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    other = await tenant.add_agent("Chen Jing")
    consoles = {
        tenant.agent.id: await online(rserver, tenant.agent),
        other.id: await online(rserver, other),
    }

    shopper, ws = await shopper_writes(rserver, tenant, "Hello? Is anyone there?")
    cid = shopper.conversation_id
    first = (await assignment(ws, cid))["assignee_id"]
    # Nobody answers: after the limit the sweep hands it to the other agent.
    frame = await wait_for(ws, transferred(cid), timeout=10)
    second = frame["assignee_id"]
    assert second != first and second in consoles
    assert frame["previous_assignee_id"] == first
    assert frame["reason"] == "unanswered"
    assert frame["by"]["type"] == "system"
    assert frame["unanswered_seconds"] >= LIMIT - 0.01

    # The new agent answers at once: it stays with them.
    mark = len(ws.frames)
    reply = await consoles[second].send_message(cid, "Hi! How can I help?", "answer-1")
    assert reply["type"] == "message.ack"
    await ws.quiet(LIMIT + 1.0)
    assert not [f for f in ws.frames[mark:] if transferred(cid)(f)]
    assert (await summary(tenant, cid))["assignee"]["id"] == second
    await close_all(*consoles.values(), ws)


async def test_answered_conversation_is_not_offered_again(
    rserver: RunningServer, rhttp: httpx.AsyncClient, quick_reoffer: None
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    other = await tenant.add_agent("Chen Jing")
    consoles = {
        tenant.agent.id: await online(rserver, tenant.agent),
        other.id: await online(rserver, other),
    }
    shopper, ws = await shopper_writes(rserver, tenant, "Do you ship to Oslo?")
    cid = shopper.conversation_id
    agent_id = (await assignment(ws, cid))["assignee_id"]
    reply = await consoles[agent_id].send_message(cid, "Yes, in 5 days.", "answer-1")
    assert reply["type"] == "message.ack"
    # The shopper writes again and waits a while for the answer: not a first reply.
    ack = await ws.send_message(cid, "Great, and the price?", "follow-up")
    assert ack["type"] == "message.ack"
    await ws.quiet(LIMIT + 1.0)
    assert not [f for f in ws.frames if transferred(cid)(f)]
    assert (await summary(tenant, cid))["assignee"]["id"] == agent_id
    await close_all(*consoles.values(), ws)
