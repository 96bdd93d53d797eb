"""The console's "Shifts & queue" drawer on the demo store: who is on, the queue, and a
market's week of coverage in half hours of the market's own clock.

The demo's shifts are in Shanghai time: Li Wei Mon-Fri 09:00-18:00, Chen Jing Mon-Fri
21:00-06:00. In New York in June (EDT, 12 hours behind Shanghai) that is Li Wei from
Sunday 21:00 and Chen Jing from Monday 09:00, which the table must show as such.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import Problems, new_page, sign_in
from tests.harness import RunningServer

pytestmark = pytest.mark.browser


def test_coverage_table_in_the_market_clock(
    browser: Browser, routing_demo_server: RunningServer
) -> None:
    base = routing_demo_server.base_url
    admin = routing_demo_server.app.state.demo["agents"][0]
    problems = Problems()
    console = new_page(browser, problems, 1400, 900)
    sign_in(console, base, admin)

    console.get_by_role("button", name="Shifts & queue").click()
    panel = console.get_by_role("complementary", name="Shifts and queue")
    expect(panel).to_be_visible()
    agents = panel.get_by_role("list", name="Agents")
    expect(agents.locator(".coverage__name")).to_have_text(
        ["Chen Jing", "Li Wei"], ignore_case=False
    )
    expect(panel.get_by_role("status")).to_contain_text("Routing is on.")

    market = panel.get_by_label("Market")
    expect(market.locator("option")).to_have_count(5)
    market.select_option("US")
    panel.get_by_label("Week starting").fill("2026-06-01")
    panel.get_by_label("Week starting").dispatch_event("change")

    rows = panel.locator(".coverage__table tbody tr")
    expect(rows).to_have_count(7)
    expect(panel.locator(".coverage__table thead th").first).to_have_text("America/New_York")
    monday = rows.filter(has=console.get_by_role("rowheader", name="Mon 1 Jun"))
    expect(monday.locator("td")).to_have_count(48)
    expect(monday.locator('td[title="09:00 Chen Jing"]')).to_have_count(1)
    expect(monday.locator('td[title="08:30 nobody"]')).to_have_count(1)
    sunday = rows.filter(has=console.get_by_role("rowheader", name="Sun 7 Jun"))
    expect(sunday.locator('td[title="21:00 Li Wei"]')).to_have_count(1)
    expect(panel.get_by_role("list", name="Gaps in cover").locator("li").first).to_contain_text(
        "Gap:"
    )
    assert problems == []
