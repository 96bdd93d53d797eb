"""The web client end to end: a shopper on the demo store and an agent in the console.

A real server with the demo store, Debian's Chromium driven by Playwright. The shopper
and the agent use separate browser contexts, like two people on two machines.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import (
    SCREENSHOTS,
    Problems,
    new_page,
    open_widget,
    send_from_widget,
    sign_in,
)
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

# Markup in a message must arrive as text: if it were parsed, the <b> would vanish.
QUESTION = "Do you ship the <b>Celadon Teapot</b> to Canada & how long?"
ANSWER = "Yes! Canada takes 7-10 days, tracked <script>alert(1)</script>"


def test_shopper_and_agent_chat_through_widget_and_console(
    browser: Browser, demo_server: RunningServer
) -> None:
    base = demo_server.base_url
    agent = demo_server.app.state.demo["agents"][0]
    problems = Problems()
    shop = new_page(browser, problems)
    console = new_page(browser, problems, 1280, 760)

    # The shopper opens the store and the chat, and asks a question.
    widget = open_widget(shop, base)
    send_from_widget(widget, QUESTION)

    # The agent signs in and finds it in the inbox, unread.
    sign_in(console, base, agent)
    item = console.locator(".conv").filter(has_text="Celadon Teapot")
    expect(item.locator(".badge")).to_have_text("1")

    # ...opens it, sees the question as text (no <b> element), takes it and answers.
    item.click()
    thread = console.get_by_role("log", name="Messages")
    question = thread.locator(".msg--theirs .msg__bubble")
    expect(question).to_have_text(QUESTION)
    expect(question.locator("b")).to_have_count(0)
    expect(item.locator(".badge")).to_have_count(0)
    console.get_by_role("button", name="Assign to me").click()
    expect(console.locator("#conv-meta")).to_contain_text(f"Assigned to {agent['name']}")
    reply = console.get_by_role("textbox", name="Reply")
    reply.fill(ANSWER)
    reply.press("Enter")
    expect(thread.locator(".msg--mine .msg__state")).to_have_text("Sent")

    # The shopper sees the answer, from the agent, as text.
    theirs = widget.locator(".msg--theirs")
    expect(theirs.locator(".msg__bubble")).to_have_text(ANSWER)
    expect(theirs.locator(".msg__author")).to_have_text(agent["name"])
    expect(widget.locator(".note")).to_contain_text(f"{agent['name']} joined")
    console.screenshot(path=str(SCREENSHOTS / "kefu-console.png"))
    shop.screenshot(path=str(SCREENSHOTS / "kefu-widget.png"))

    # A reload keeps the shopper's conversation: both messages are still there, in order.
    shop.reload()
    shop.get_by_role("button", name="Open chat").click()
    expect(widget.locator(".msg .msg__bubble")).to_have_text([QUESTION, ANSWER])
    expect(widget.get_by_role("textbox", name="Message")).to_be_enabled()
    shop.screenshot(path=str(SCREENSHOTS / "kefu-widget-reloaded.png"))

    assert problems == []


def test_console_inbox_follows_new_conversations_live(
    browser: Browser, demo_server: RunningServer
) -> None:
    base = demo_server.base_url
    agent = demo_server.app.state.demo["agents"][1]
    problems = Problems()
    console = new_page(browser, problems, 1280, 760)
    shop = new_page(browser, problems)

    sign_in(console, base, agent)
    expect(console.get_by_text("No conversations here.")).to_be_visible()

    # A conversation the console has never seen arrives over the WebSocket, unread.
    widget = open_widget(shop, base)
    send_from_widget(widget, "Is the silk scarf washable?")
    rows = console.get_by_role("list", name="Conversations").get_by_role("button")
    expect(rows).to_have_count(1)
    item = rows.first
    expect(item.locator(".conv__preview")).to_have_text("Is the silk scarf washable?")
    expect(item.locator(".badge")).to_have_text("1")

    # A follow-up moves the preview and the count, without a reload.
    send_from_widget(widget, "And can you gift-wrap it?")
    expect(item.locator(".conv__preview")).to_have_text("And can you gift-wrap it?")
    expect(item.locator(".badge")).to_have_text("2")

    # Opening it shows both and clears the count; the agent's typing reaches the shopper.
    item.click()
    thread = console.get_by_role("log", name="Messages")
    expect(thread.locator(".msg--theirs .msg__bubble")).to_have_text(
        ["Is the silk scarf washable?", "And can you gift-wrap it?"]
    )
    expect(item.locator(".badge")).to_have_count(0)
    console.get_by_role("textbox", name="Reply").press_sequentially("Hand wash")
    expect(widget.get_by_text(f"{agent['name']} is typing…")).to_be_visible()

    assert problems == []
