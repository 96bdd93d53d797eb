"""The demo store out of hours, in the shopper's browser: an honest answer about when.

The demo's agents work Shanghai hours. The routing clock is set to Sunday 2026-06-07
15:00 UTC (Sunday 23:00 in Shanghai, 11:00 in New York): nobody is on shift, and the next
shift is Li Wei's, Monday 09:00 in Shanghai, which is Sunday 21:00 for a shopper in New
York (EDT). The shopper's browser says it is in New York; the widget must say 21:00
"your time", in the auto-reply and in the queue line.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import Problems, open_widget, send_from_widget
from tests.harness import RunningServer

pytestmark = pytest.mark.browser

SUNDAY_AFTERNOON_UTC = datetime(2026, 6, 7, 15, 0, tzinfo=UTC)


def test_out_of_hours_the_shopper_is_told_when_in_their_own_time(
    browser: Browser, routing_demo_server: RunningServer
) -> None:
    routing_demo_server.app.state.routing.clock = lambda: SUNDAY_AFTERNOON_UTC
    problems = Problems()
    context = browser.new_context(locale="en-US", timezone_id="America/New_York")
    shop = problems.watch(context.new_page())
    try:
        widget = open_widget(shop, routing_demo_server.base_url)
        send_from_widget(widget, "Hello, is anyone there?")

        reply = widget.locator(".msg--theirs .msg__bubble").last
        expect(reply).to_contain_text("Our team is offline right now")
        expect(reply).to_contain_text("Sunday 21:00 your time")
        expect(reply).to_contain_text("email")
        queue = widget.get_by_role("status").filter(has_text="in line")
        expect(queue).to_contain_text("You are next in line.")
        # The widget formats the ETA itself, in the browser's zone: the same 21:00.
        expect(queue).to_contain_text("Sunday 21:00 your time")

        # The auto-reply's offer: the shopper leaves an email; the agents will see it.
        contact = widget.get_by_role("form", name="Leave your email")
        contact.get_by_role("textbox").fill("ana@localhost")  # the browser accepts it; we do not
        contact.get_by_role("button", name="Save").click()
        expect(widget.get_by_role("alert")).to_contain_text("does not look right")
        contact.get_by_role("textbox").fill("shopper@example.com")
        contact.get_by_role("button", name="Save").click()
        expect(contact).to_contain_text("We will also answer at shopper@example.com")
        # Chromium logs the refused PUT itself; that one is expected, nothing else is.
        refused = [p for p in problems if "status of 422" in p]
        assert len(refused) == 1 and [p for p in problems if p not in refused] == []
    finally:
        context.close()
