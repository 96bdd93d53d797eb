"""Translation in the web client: each side reads the other in its own language.

A real server with the demo store (its agents read Chinese) and real tiny argos models
for en<->zh built at test time. The models have random weights, so what they write is
gibberish; the test checks what must hold whatever the words: the reader sees the
translation, the original is one click away, the agent previews a reply before sending,
and a shopper who picks a language nobody can translate into is told why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.support import Problems, new_page, open_widget, send_from_widget, sign_in
from tests.harness import RunningServer, make_settings
from translation.testing import install_test_packages

pytestmark = pytest.mark.browser

QUESTION = "Where is my order #A123-456? It was due on Monday."
ANSWER = "您好，您的订单今天发货。"


@pytest.fixture
def translating_demo(tmp_path: Path) -> Iterator[RunningServer]:
    models = tmp_path / "models"
    install_test_packages(models, [("en", "zh"), ("zh", "en")])
    settings = make_settings(
        tmp_path,
        None,
        demo=True,
        demo_routing=False,  # the agent takes the chat by hand, whatever the hour
        translation_enabled=True,
        translation_models_dir=models,
    )
    server = RunningServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


def test_each_side_reads_the_other_in_its_language(
    browser: Browser, translating_demo: RunningServer
) -> None:
    base = translating_demo.base_url
    agent = translating_demo.app.state.demo["agents"][0]  # reads Chinese
    problems = Problems()
    shop = new_page(browser, problems, locale="en-US")
    console = new_page(browser, problems, 1280, 760, locale="zh-CN")

    widget = open_widget(shop, base)
    send_from_widget(widget, QUESTION)
    sign_in(console, base, agent)
    console.locator(".conv").first.click()
    thread = console.get_by_role("log", name="Messages")

    # The agent reads the question in Chinese; the English original is one click away.
    question = thread.locator(".msg--theirs").first
    expect(question.locator(".msg__translation-label")).to_contain_text("Translated from")
    expect(question.locator(".msg__bubble")).not_to_have_text(QUESTION)
    expect(question.locator(".msg__bubble")).to_contain_text("#A123-456")  # protected span
    original = question.locator(".msg__original")
    expect(original).to_be_hidden()
    question.get_by_role("button", name="Show original").click()
    expect(original).to_have_text(QUESTION)
    question.get_by_role("button", name="Hide original").click()
    expect(original).to_be_hidden()

    # Before sending, the agent sees how the reply will read to the shopper.
    console.get_by_role("button", name="Assign to me").click()
    reply = console.get_by_role("textbox", name="Reply")
    reply.fill(ANSWER)
    console.get_by_role("button", name="Preview").click()
    preview = console.locator("#preview-box")
    expect(preview).to_be_visible()
    expect(preview.locator("#preview-label")).to_contain_text("The shopper will read")
    expect(preview.locator("#preview-text")).not_to_have_text(ANSWER)
    previewed = preview.locator("#preview-text").inner_text()
    reply.press("Enter")
    expect(preview).to_be_hidden()

    # The shopper reads the reply in English (what the preview showed), original on demand.
    answer = widget.locator(".msg--theirs").filter(has=widget.locator(".msg__translation"))
    expect(answer.locator(".msg__bubble")).to_have_text(previewed)
    answer.get_by_role("button", name="Show original").click()
    expect(answer.locator(".msg__original")).to_have_text(ANSWER)

    # The shopper switches to Spanish: no model reads Chinese into Spanish, so the next
    # reply arrives as written, and the widget says why.
    picker = widget.get_by_label("Language to read the chat in")
    expect(picker).to_have_value("en")
    picker.select_option("es")
    expect(widget.get_by_role("textbox", name="Message")).to_be_enabled()
    expect(picker).to_have_value("es")
    reply.fill("还有别的问题吗？")
    reply.press("Enter")
    last = widget.locator(".msg--theirs").last
    expect(last.locator(".msg__bubble")).to_have_text("还有别的问题吗？")
    expect(last.locator(".msg__translation--none")).to_contain_text("Not translated")

    # A reload keeps the choice.
    shop.reload()
    shop.get_by_role("button", name="Open chat").click()
    expect(widget.get_by_label("Language to read the chat in")).to_have_value("es")

    assert problems == []
