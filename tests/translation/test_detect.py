"""Language detection on short chat lines, among a tenant's languages."""

from __future__ import annotations

import pytest

from translation.detect import LanguageDetector

CANDIDATES = {"en", "zh", "es", "de", "ar", "ja", "pt"}
LINES = [
    ("en", "Where is my order?"),
    ("en", "Can I return these shoes?"),
    ("en", "thanks!"),
    ("zh", "我的订单在哪里？"),
    ("zh", "谢谢"),
    ("zh", "已经发货了"),
    ("es", "¿Dónde está mi pedido?"),
    ("es", "gracias"),
    ("es", "el paquete llegó roto"),
    ("de", "Wo ist meine Bestellung?"),
    ("de", "danke"),
    ("de", "Das Paket ist beschädigt"),
    ("ar", "أين طلبي؟"),
    ("ar", "شكرا"),
    ("ja", "注文はどこですか？"),
    ("ja", "ありがとう"),
    ("pt", "Onde está o meu pedido?"),
    ("pt", "o pacote chegou danificado"),
    ("en", "My order #A123-456 https://shop.example.com/x still hasn't arrived 😡"),
]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(("language", "line"), LINES)
def test_short_lines_in_each_language(detector, language, line):
    assert detector.detect(line, CANDIDATES) == language


@pytest.mark.parametrize(
    "line", ["ok", "hi", "👍", "#A123-456", "https://shop.example.com/x", "???", "lol", "", "好"]
)
def test_too_short_or_unsure_is_none(detector, line):
    assert detector.detect(line, CANDIDATES) is None


def test_only_candidates_are_returned(detector):
    assert detector.detect("Wo ist meine Bestellung?", {"de", "zh"}) == "de"
    assert detector.detect("Wo ist meine Bestellung?", {"en", "zh"}) in (None, "en")
    assert detector.detect("Where is my order?", set()) is None
    assert detector.detect("我的订单在哪里？", {"zt", "en"}) == "zt"
