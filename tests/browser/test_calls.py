"""A video call from the widget to the console, with a screen share, in real Chromium.

Debian's Chromium with fake media devices (`--use-fake-ui-for-media-stream` grants the
permission, `--use-fake-device-for-media-stream` gives a fake camera, microphone and
screen); a real server with the demo store. The shopper calls the agent the conversation
is assigned to; media goes browser to browser over the machine's own interface, the
gateway only relays the signaling. What flows is read from each page's
RTCPeerConnection (`window.__kefuCall.pc.getStats()`): `framesDecoded` of inbound video.
Also: a shopper whose camera and microphone are blocked, and a call that survives the
shopper's WebSocket reconnecting.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    Playwright,
    WebSocketRoute,
    expect,
    sync_playwright,
)

from server.config import Settings
from tests.browser.support import (
    CHROMIUM,
    LAUNCH_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    Problems,
    new_page,
    open_widget,
    send_from_widget,
    sign_in,
)
from tests.harness import RunningServer, make_settings
from tests.services import missing

pytestmark = pytest.mark.browser

FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
MEDIA_TIMEOUT_MS = 20_000

# framesDecoded of every inbound video stream of this page's call.
DECODED = """async () => {
  const pc = window.__kefuCall && window.__kefuCall.pc;
  if (!pc) return [];
  const counts = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') counts.push(s.framesDecoded || 0);
  });
  return counts;
}"""

# True once at least `streams` inbound video streams have decoded more than `above` frames.
# wait_for_function does not await a Promise, so each poll starts a getStats() and judges
# the counts the previous one left.
DECODING = f"""({{ streams, above }}) => {{
  const pc = window.__kefuCall && window.__kefuCall.pc;
  if (!pc) return false;
  if (window.__kefuStatsOf !== pc) {{
    window.__kefuStatsOf = pc;
    window.__kefuDecoded = [];
  }}
  if (!window.__kefuStatsPending) {{
    window.__kefuStatsPending = ({DECODED})()
      .then((counts) => {{ if (window.__kefuStatsOf === pc) window.__kefuDecoded = counts; }})
      .finally(() => {{ window.__kefuStatsPending = null; }});
  }}
  return window.__kefuDecoded.filter((n) => n > above).length >= streams;
}}"""

# Video tracks this page's call currently receives (negotiated to receive, not stopped).
RECEIVING_VIDEO = """() => {
  const pc = window.__kefuCall && window.__kefuCall.pc;
  if (!pc) return 0;
  const receiving = ['sendrecv', 'recvonly'];
  return pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video'
    && !t.stopped && receiving.includes(t.currentDirection)).length;
}"""


@pytest.fixture(scope="module")
def driver() -> Iterator[Playwright]:
    """One Playwright for the module (sync Playwrights cannot nest)."""
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def media_browser(driver: Playwright) -> Iterator[Browser]:
    """Chromium with a fake camera, microphone and screen, every permission granted."""
    chromium = driver.chromium.launch(
        executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, *FAKE_MEDIA]
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def asking_browser(driver: Playwright) -> Iterator[Browser]:
    """Chromium with fake devices but real permission checks: a page gets the camera and
    microphone only where its context was granted them, and is refused elsewhere."""
    chromium = driver.chromium.launch(
        executable_path=str(CHROMIUM), args=[*LAUNCH_ARGS, "--use-fake-device-for-media-stream"]
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def call_server(tmp_path: Path) -> Iterator[RunningServer]:
    """The demo store with routing off: the conversation waits until the agent takes it,
    whatever the time of day says about the demo agents' shifts."""
    overrides = {"demo_routing": False} if "demo_routing" in Settings.model_fields else {}
    server = RunningServer(make_settings(tmp_path, None, demo=True, **overrides)).start()
    try:
        yield server
    finally:
        server.stop()


def widget_frame(page: Page) -> Frame:
    frame = page.frame(url=re.compile(r"/widget/frame"))
    assert frame is not None, "the chat's frame is not there"
    return frame


def wait_decoding(target: Page | Frame, streams: int = 1, above: int = 0) -> list[int]:
    """Wait until `streams` inbound videos decoded more than `above` frames; the counts."""
    target.wait_for_function(
        DECODING,
        arg={"streams": streams, "above": above},
        polling=250,
        timeout=MEDIA_TIMEOUT_MS,
    )
    counts: list[int] = target.evaluate(DECODED)
    return counts


def wait_receiving_video(target: Page | Frame, tracks: int) -> None:
    target.wait_for_function(
        f"() => ({RECEIVING_VIDEO})() === {tracks}", polling=250, timeout=MEDIA_TIMEOUT_MS
    )


def test_shopper_video_calls_agent_shares_screen_and_hangs_up(
    media_browser: Browser, call_server: RunningServer
) -> None:
    base = call_server.base_url
    agent = call_server.app.state.demo["agents"][0]
    problems = Problems()
    shop = new_page(media_browser, problems)
    console = new_page(media_browser, problems, 1400, 820)

    # The shopper asks a question; nobody has the conversation yet, so no call yet.
    widget = open_widget(shop, base)
    send_from_widget(widget, "The lid of my Celadon Teapot does not fit. Can I show you?")
    video_button = widget.get_by_role("button", name="Start video call")
    expect(video_button).to_be_disabled()

    # The agent signs in, opens the conversation and takes it.
    sign_in(console, base, agent)
    console.locator(".conv").filter(has_text="Celadon Teapot").click()
    expect(console.get_by_role("button", name="Start video call")).to_be_disabled()
    console.get_by_role("button", name="Assign to me").click()
    expect(console.locator("#conv-meta")).to_contain_text(f"Assigned to {agent['name']}")
    expect(console.get_by_role("button", name="Start video call")).to_be_enabled()

    # The shopper can call now: a video call rings in the console.
    expect(video_button).to_be_enabled()
    video_button.click()
    widget_panel = widget.get_by_role("region", name="Call")
    expect(widget_panel.get_by_role("status")).to_have_text(f"Calling {agent['name']}…")
    ring = console.get_by_role("alertdialog", name="Incoming call")
    expect(ring).to_contain_text("Incoming video call")
    console.screenshot(path=str(SCREENSHOTS / "kefu-call-ringing-console.png"))
    ring.get_by_role("button", name="Accept video call").click()
    expect(ring).to_be_hidden()

    # Both connect, and video decodes on both sides, and keeps decoding.
    console_panel = console.get_by_role("region", name="Call")
    expect(widget_panel.get_by_role("status")).to_have_text(f"Video call with {agent['name']}")
    expect(console_panel.get_by_role("status")).to_have_text(
        re.compile(r"^Video call with Visitor")
    )
    shop_frame = widget_frame(shop)
    for side in (shop_frame, console):
        first = wait_decoding(side)
        wait_decoding(side, above=max(first))
    expect(widget_panel.get_by_label("Call duration")).to_have_text(re.compile(r"^0:\d\d$"))
    expect(console_panel.get_by_label("Remote video")).to_be_visible()
    expect(widget_panel.get_by_label("Your camera")).to_be_visible()
    shop.screenshot(path=str(SCREENSHOTS / "kefu-call-widget.png"))
    console.screenshot(path=str(SCREENSHOTS / "kefu-call-console.png"))

    # Mute is local: the microphone track stops sending sound, the call goes on.
    mute = widget_panel.get_by_role("button", name="Mute microphone")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    assert shop_frame.evaluate(
        "() => window.__kefuCall.localStream.getAudioTracks().every((t) => !t.enabled)"
    )
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "false")

    # The shopper shares the screen: a renegotiation adds a second video track, which
    # the agent receives and decodes next to the camera, and shows as the main picture.
    assert console.evaluate(RECEIVING_VIDEO) == 1
    share = widget_panel.get_by_role("button", name="Share screen")
    share.click()
    expect(share).to_have_attribute("aria-pressed", "true")
    wait_receiving_video(console, 2)
    wait_decoding(console, streams=2)
    expect(console_panel.get_by_text("is sharing their screen")).to_be_visible()
    expect(console_panel.get_by_label("Remote camera")).to_be_visible()
    expect(widget_panel.get_by_text("You are sharing your screen")).to_be_visible()
    shop.screenshot(path=str(SCREENSHOTS / "kefu-call-widget-sharing.png"))
    console.screenshot(path=str(SCREENSHOTS / "kefu-call-console-screen.png"))

    # Stopping the share removes the track again (another renegotiation).
    share.click()
    expect(share).to_have_attribute("aria-pressed", "false")
    wait_receiving_video(console, 1)
    expect(console_panel.get_by_text("is sharing their screen")).to_be_hidden()

    # The shopper hangs up: both sides show the call ended, media is released, and the
    # conversation's history on both sides records the call with its duration.
    widget_panel.get_by_role("button", name="Hang up").click()
    for panel in (widget_panel, console_panel):
        expect(panel.get_by_role("status")).to_have_text(re.compile(r"^Video call ended · 0:\d\d$"))
    for side in (shop_frame, console):
        side.wait_for_function(
            "() => window.__kefuCall.pc === null && window.__kefuCall.localStream === null",
            timeout=MEDIA_TIMEOUT_MS,
        )
    expect(widget.locator(".note").filter(has_text="You started a video call")).to_have_count(1)
    expect(
        widget.locator(".note").filter(has_text=re.compile(r"Video call ended · 0:\d\d"))
    ).to_have_count(1)
    console_thread = console.get_by_role("log", name="Messages")
    expect(console_thread.locator(".note").filter(has_text="started a video call")).to_have_count(1)
    expect(
        console_thread.locator(".note").filter(has_text=re.compile(r"Video call ended · 0:\d\d"))
    ).to_have_count(1)
    expect(widget.get_by_role("button", name="Start video call")).to_be_enabled()
    shop.screenshot(path=str(SCREENSHOTS / "kefu-call-widget-ended.png"))
    console.screenshot(path=str(SCREENSHOTS / "kefu-call-console-ended.png"))

    # The chat goes on after the call.
    send_from_widget(widget, "Thank you, that fixed it!")
    expect(console_thread.locator(".msg--theirs .msg__bubble").last).to_have_text(
        "Thank you, that fixed it!"
    )

    assert problems == []


def test_blocked_camera_and_microphone_explain_themselves_and_the_chat_goes_on(
    asking_browser: Browser, call_server: RunningServer
) -> None:
    """The shopper's browser refuses the camera and microphone (the context was never
    granted them); the agent's context was."""
    base = call_server.base_url
    agent = call_server.app.state.demo["agents"][1]
    problems = Problems()
    shop = problems.watch(asking_browser.new_context().new_page())
    console = problems.watch(
        asking_browser.new_context(
            viewport={"width": 1400, "height": 820}, permissions=["camera", "microphone"]
        ).new_page()
    )
    widget = open_widget(shop, base)
    send_from_widget(widget, "Can we talk about my order?")
    sign_in(console, base, agent)
    console.locator(".conv").filter(has_text="my order").click()
    console.get_by_role("button", name="Assign to me").click()

    # The shopper's call never rings: the widget says why instead.
    widget.get_by_role("button", name="Start video call").click()
    widget_panel = widget.get_by_role("region", name="Call")
    expect(widget_panel.get_by_role("alert")).to_contain_text(
        "Access to your camera and microphone was blocked"
    )
    shop.screenshot(path=str(SCREENSHOTS / "kefu-call-widget-blocked.png"))
    widget_panel.get_by_role("button", name="Dismiss notice").click()
    expect(widget_panel).to_be_hidden()

    # The agent calls; the shopper accepts, but cannot take part: the call ends
    # `failed` on both sides, and the shopper is told why.
    console.get_by_role("button", name="Start voice call").click()
    console_panel = console.get_by_role("region", name="Call")
    expect(console_panel.get_by_role("status")).to_have_text(re.compile(r"^Calling "))
    widget.get_by_role("button", name="Accept voice call").click()
    expect(widget_panel.get_by_role("alert")).to_contain_text(
        "Access to your microphone was blocked"
    )
    expect(widget_panel.get_by_role("status")).to_have_text("Voice call failed")
    expect(console_panel.get_by_role("status")).to_have_text("Voice call failed")
    console.wait_for_function(
        "() => window.__kefuCall.localStream === null", timeout=MEDIA_TIMEOUT_MS
    )

    # Only the agent's call is in the history, and the chat goes on.
    thread = console.get_by_role("log", name="Messages")
    expect(thread.locator(".note").filter(has_text="started a")).to_have_text(
        [re.compile(r"started a voice call")]
    )
    expect(thread.locator(".note").filter(has_text="Voice call failed")).to_have_count(1)
    send_from_widget(widget, "No microphone here, let's keep writing.")
    expect(thread.locator(".msg--theirs .msg__bubble").last).to_have_text(
        "No microphone here, let's keep writing."
    )

    assert problems == []


class Sockets:
    """A context's WebSockets through Playwright, whose two halves a test closes one at a
    time: the page's side (the browser sees its connection drop and reconnects) while the
    server's side stays open, as when a network goes away without a word to the server."""

    def __init__(self, context: BrowserContext) -> None:
        self.pairs: list[dict[str, Any]] = []
        context.route_web_socket(re.compile(r"/ws$"), self._route)

    def _route(self, page_side: WebSocketRoute) -> None:
        server_side = page_side.connect_to_server()
        pair = {"page": page_side, "server": server_side, "page_open": True}
        # No close is forwarded: each side is closed by the test.
        page_side.on_close(lambda code, reason: None)
        server_side.on_close(lambda code, reason: None)
        server_side.on_message(lambda m: page_side.send(m) if pair["page_open"] else None)
        self.pairs.append(pair)

    def drop_page_side(self) -> dict[str, Any]:
        pair = self.pairs[-1]
        pair["page_open"] = False
        pair["page"].close(code=1011, reason="network lost")
        return pair


def bound_sessions(server: RunningServer) -> list[str]:
    """The connections bound to the server's live calls (read on the server's loop)."""

    async def read(_: Any) -> list[str]:
        registry = server.app.state.calls.registry
        return [s for call in registry.live_calls() for s in call.bound_sessions()]

    return server.call(read)


def wait_bound(server: RunningServer, page: Page, session_id: str) -> None:
    """Poll the server until `session_id` is bound to the call. The page's timer (not a
    plain sleep) lets Playwright relay the routed WebSocket frames meanwhile."""
    deadline = time.monotonic() + MEDIA_TIMEOUT_MS / 1000
    while session_id not in bound_sessions(server):
        assert time.monotonic() < deadline, f"{session_id} never took the call back"
        page.wait_for_timeout(100)


def test_a_call_survives_the_shoppers_websocket_reconnecting(
    media_browser: Browser, call_server: RunningServer
) -> None:
    """The shopper's WebSocket drops during a video call and reconnects before the server
    noticed the old one was gone: the call goes on (media does not need the socket). Once
    the server sees the old connection close, the widget rejoins from the new one, and a
    screen share (a renegotiation) passes through it."""
    base = call_server.base_url
    agent = call_server.app.state.demo["agents"][0]
    problems = Problems()
    shop_context = media_browser.new_context(viewport={"width": 1200, "height": 820})
    sockets = Sockets(shop_context)
    shop = problems.watch(shop_context.new_page())
    console = new_page(media_browser, problems, 1400, 820)

    widget = open_widget(shop, base)
    send_from_widget(widget, "Could you look at the glaze on my Tea Bowl?")
    sign_in(console, base, agent)
    console.locator(".conv").filter(has_text="Tea Bowl").click()
    console.get_by_role("button", name="Assign to me").click()
    video_button = widget.get_by_role("button", name="Start video call")
    expect(video_button).to_be_enabled()
    video_button.click()
    ring = console.get_by_role("alertdialog", name="Incoming call")
    ring.get_by_role("button", name="Accept video call").click()
    widget_panel = widget.get_by_role("region", name="Call")
    console_panel = console.get_by_role("region", name="Call")
    expect(widget_panel.get_by_role("status")).to_have_text(f"Video call with {agent['name']}")
    shop_frame = widget_frame(shop)
    for side in (shop_frame, console):
        wait_decoding(side)

    # The page's side of the socket drops; the server's stays open.
    old_session = shop_frame.evaluate("() => window.__kefuCall.sessionId")
    old = sockets.drop_page_side()
    shop_frame.wait_for_function(
        """(old) => {
          const c = window.__kefuCall;
          return c.client.state === 'open' && c.sessionId && c.sessionId !== old
            && (c.call === null || c.call.confirmed);
        }""",
        arg=old_session,
        timeout=MEDIA_TIMEOUT_MS,
    )
    # The server still holds the call on the old connection: the widget keeps it.
    assert shop_frame.evaluate(
        "() => window.__kefuCall.phase === 'active' && window.__kefuCall.pc !== null"
    )
    assert old_session in bound_sessions(call_server)
    first = wait_decoding(console)
    wait_decoding(console, above=max(first))

    # The server learns the old connection is gone; the widget rejoins from the new one.
    new_session = shop_frame.evaluate("() => window.__kefuCall.sessionId")
    # (A browser's WebSocket closes only with 1000 or 3000-4999: 1001 would be refused.)
    old["server"].close(code=4000, reason="gone")
    wait_bound(call_server, shop, new_session)
    expect(widget_panel.get_by_role("status")).to_have_text(f"Video call with {agent['name']}")
    expect(console_panel.get_by_role("status")).to_have_text(
        re.compile(r"^Video call with Visitor")
    )

    # Signaling works again: a screen share reaches the agent as a second video.
    share = widget_panel.get_by_role("button", name="Share screen")
    share.click()
    wait_receiving_video(console, 2)
    wait_decoding(console, streams=2)
    widget_panel.get_by_role("button", name="Hang up").click()
    for panel in (widget_panel, console_panel):
        expect(panel.get_by_role("status")).to_have_text(re.compile(r"^Video call ended · \d"))

    assert problems == []
