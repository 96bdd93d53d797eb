"""Fixtures for browser tests: Debian's Chromium, a demo server, another site's store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.support import CHROMIUM, LAUNCH_ARGS, TIMEOUT_MS, storefront_html
from tests.harness import RunningServer, make_settings
from tests.services import missing


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Playwright's sync API: the tests using it are plain `def`s, outside any event loop."""
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[RunningServer]:
    """The demo store with routing off: what these tests show must not depend on whether
    the demo's agents are on shift at the hour the tests run (tests/routing covers that)."""
    server = RunningServer(make_settings(tmp_path, None, demo=True, demo_routing=False)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def routing_demo_server(tmp_path: Path) -> Iterator[RunningServer]:
    """The demo store as `make run` serves it: routing on."""
    server = RunningServer(make_settings(tmp_path, None, demo=True)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def storefront(demo_server: RunningServer) -> Iterator[str]:
    """Another site's store page (http://localhost:PORT; Kefu is on 127.0.0.1), served for
    real: Chromium lets only loopback pages load loopback scripts (Private Network Access)."""
    page = storefront_html(demo_server.base_url, demo_server.app.state.demo["widget_key"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
