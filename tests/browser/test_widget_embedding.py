"""The widget where real life puts it: on a flaky connection, and on another site's store.

A dropped WebSocket must lose nothing and duplicate nothing (resend with the first client
id, resume from the last seq). On another site, the SDK loads as a module (CORS), the
frame's own storage is blocked by the browser (the SDK keeps the visitor token instead),
and the store hears about replies through `Kefu.on`.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import (
    Cable,
    Problems,
    new_page,
    open_widget,
    send_from_widget,
    sign_in,
)
from tests.harness import RunningServer

pytestmark = pytest.mark.browser


def test_widget_resends_and_catches_up_after_a_dropped_connection(
    browser: Browser, demo_server: RunningServer
) -> None:
    base = demo_server.base_url
    agent = demo_server.app.state.demo["agents"][0]
    problems = Problems()
    console = new_page(browser, problems, 1280, 760)
    shop_context = browser.new_context(viewport={"width": 1200, "height": 820})
    cable = Cable(shop_context)
    shop = problems.watch(shop_context.new_page())

    widget = open_widget(shop, base)
    send_from_widget(widget, "Hello?")
    sign_in(console, base, agent)
    console.locator(".conv").filter(has_text="Hello?").click()
    thread = console.get_by_role("log", name="Messages")
    expect(thread.locator(".msg")).to_have_count(1)

    # The server gets the next message but the shopper's connection dies before the ack.
    cable.muted = True
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill("Is anyone there?")
    composer.press("Enter")
    expect(thread.locator(".msg--theirs .msg__bubble").last).to_have_text("Is anyone there?")
    pending = widget.locator(".msg--mine").filter(has_text="Is anyone there?")
    expect(pending.locator(".msg__state")).to_have_text("Sending…")
    cable.cut()
    expect(widget.get_by_role("status")).to_have_text("Connection lost. Reconnecting…")

    # The agent answers while the shopper is away.
    reply = console.get_by_role("textbox", name="Reply")
    reply.fill("Yes, Li Wei here.")
    reply.press("Enter")
    expect(thread.locator(".msg--mine .msg__state")).to_have_text("Sent")

    # Back online: the send is retried with its first id (no duplicate), the answer replayed.
    cable.mend()
    expect(widget.get_by_role("status")).to_be_hidden(timeout=30_000)
    expect(pending.locator(".msg__state")).to_have_text("Sent")
    conversation = ["Hello?", "Is anyone there?", "Yes, Li Wei here."]
    expect(widget.locator(".msg .msg__bubble")).to_have_text(conversation)
    expect(thread.locator(".msg .msg__bubble")).to_have_text(conversation)
    assert problems == []


def test_widget_on_another_sites_storefront(
    browser: Browser, demo_server: RunningServer, storefront: str
) -> None:
    base = demo_server.base_url
    demo = demo_server.app.state.demo
    admin, agent = demo["agents"][0], demo["agents"][1]
    with httpx.Client(base_url=base) as http:
        login = http.post("/api/v1/auth/login", json=admin).json()
        allowed = http.patch(
            "/api/v1/tenant",
            json={"allowed_origins": ["self", storefront]},
            headers={"Authorization": f"Bearer {login['access_token']}"},
        )
        assert allowed.status_code == 200, allowed.text

    problems = Problems()
    shop = new_page(browser, problems)
    console = new_page(browser, problems, 1280, 760)

    shop.goto(f"{storefront}/checkout")
    shop.get_by_role("button", name="Open chat").click()
    widget = shop.frame_locator("iframe[title='Kefu chat']")
    send_from_widget(widget, "Where is my order #1042?")
    shop.get_by_role("button", name="Close chat").click()

    sign_in(console, base, agent)
    console.locator(".conv").filter(has_text="#1042").click()
    reply = console.get_by_role("textbox", name="Reply")
    reply.fill("It left our warehouse today.")
    reply.press("Enter")

    # The store page hears about it through the SDK, and the launcher counts it.
    expect(shop.get_by_role("button", name="Open chat, 1 unread")).to_be_visible()
    events = shop.evaluate("window.kefuEvents")
    assert [e["type"] for e in events].count("ready") == 1
    messages = [e for e in events if e["type"] == "message"]
    assert [(m["text"], m["author"]) for m in messages] == [
        ("It left our warehouse today.", {"type": "agent", "name": agent["name"]})
    ]
    assert events[-1] == {"type": "unread", "count": 1}

    # The browser blocks the frame's own storage on another site; the visitor is still
    # resumed after a reload (the SDK keeps the token in the store's storage).
    shop.reload()
    shop.get_by_role("button", name="Open chat").click()
    expect(widget.locator(".msg .msg__bubble")).to_have_text(
        ["Where is my order #1042?", "It left our warehouse today."]
    )
    assert problems == []
