"""What browser tests share: launch settings, error watching, a cuttable WebSocket, and
the steps people take (open the store's chat, send from it, sign in to the console)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, FrameLocator, Page, WebSocketRoute, expect

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 15_000
SCREENSHOTS = Path("/tmp")


class Problems(list[str]):
    """Uncaught errors and console errors of every page watched: a test ends with none."""

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda exc: self.append(f"{page.url}: page error: {exc}"))
        page.on(
            "console",
            lambda msg: msg.type == "error" and self.append(f"{page.url}: console: {msg.text}"),
        )
        return page


class Cable:
    """A context's WebSockets, routed through Playwright so a test can mute or cut them."""

    def __init__(self, context: BrowserContext) -> None:
        self.up = True
        self.muted = False
        self.live: list[tuple[WebSocketRoute, WebSocketRoute]] = []
        context.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, page_side: WebSocketRoute) -> None:
        if not self.up:
            page_side.close(code=1011, reason="cable cut")
            return
        server_side = page_side.connect_to_server()
        server_side.on_message(lambda frame: None if self.muted else page_side.send(frame))
        self.live.append((page_side, server_side))

    def cut(self) -> None:
        """Close every connection, and refuse new ones until `mend`."""
        self.up = False
        for page_side, server_side in self.live:
            # A page's WebSocket may only close with 1000 or 3000-4999; 1001 would fail
            # silently and the server would never see the connection go.
            server_side.close(code=4000)
            page_side.close(code=1011, reason="cable cut")
        self.live.clear()

    def mend(self) -> None:
        self.up = True
        self.muted = False


def new_page(
    browser: Browser,
    problems: Problems,
    width: int = 1200,
    height: int = 820,
    locale: str | None = None,
) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    return problems.watch(context.new_page())


def open_widget(page: Page, base: str) -> FrameLocator:
    """Open the demo store and its chat; the chat's frame, ready to type in."""
    page.goto(f"{base}/demo/")
    expect(page.get_by_role("heading", name="Handmade goods")).to_be_visible()
    page.get_by_role("button", name="Open chat").click()
    widget = page.frame_locator("iframe[title='Kefu chat']")
    expect(widget.get_by_role("heading", name="Kefu Demo Store")).to_be_visible()
    expect(widget.get_by_role("textbox", name="Message")).to_be_enabled()
    return widget


def send_from_widget(widget: FrameLocator, text: str) -> None:
    composer = widget.get_by_role("textbox", name="Message")
    composer.fill(text)
    composer.press("Enter")
    expect(composer).to_have_value("")
    sent = widget.locator(".msg--mine").filter(has=widget.get_by_text(text, exact=True))
    expect(sent.locator(".msg__state")).to_have_text("Sent")


def sign_in(page: Page, base: str, agent: dict[str, str]) -> None:
    page.goto(f"{base}/console/")
    page.get_by_label("Email").fill(agent["email"])
    page.get_by_label("Password").fill(agent["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(agent["name"], exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Connected")).to_be_visible()


def storefront_html(server_url: str, widget_key: str) -> str:
    """A store that loads the SDK from Kefu as a module and records the SDK's events."""
    return f"""<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<h1>Another store</h1>
<script type="module" src="{server_url}/sdk.js"></script>
<script type="module">
  window.kefuEvents = [];
  for (const type of ['ready', 'message', 'unread']) {{
    Kefu.on(type, (data) => window.kefuEvents.push({{ type, ...data }}));
  }}
  Kefu.init({{ widgetKey: {json.dumps(widget_key)} }});
</script></body></html>"""
