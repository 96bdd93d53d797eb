"""Spans a translation must never change, swapped for placeholders and checked after.

`protect(text, glossary, target)` finds URLs, emails, inline code, order numbers,
tracking numbers, prices, emoji and glossary terms, and replaces each with one
placeholder character (Unicode Private Use Area, see `translation.engine`). The model
sees only the placeholder; `restore(translated, protected)` puts back the original span
(or the glossary's fixed translation) and checks that every placeholder came back
exactly once and every span is present exactly. Any damage is reported, and the caller
shows the original message rather than a corrupted order number.

Placeholders are numbered in order of appearance, so messages with the same words
around different order numbers have the same protected text (and share cache entries).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass

from translation.engine import PLACEHOLDER_FIRST, PLACEHOLDER_LAST, is_placeholder
from translation.glossary import Glossary


class SpanKind(enum.Enum):
    """What a protected span is; the value is its name in events and logs."""

    CODE = "code"
    URL = "url"
    EMAIL = "email"
    GLOSSARY_KEEP = "glossary_keep"
    GLOSSARY_FIXED = "glossary_fixed"
    TRACKING_NUMBER = "tracking_number"
    ORDER_NUMBER = "order_number"
    PRICE = "price"
    EMOJI = "emoji"


_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"
_AMOUNT = r"\d+(?:[.,\u00a0\u202f]\d+)*"
_CURRENCY_SYMBOL = r"(?:US\$|C\$|A\$|HK\$|NT\$|R\$|[$€£¥￥₩₹₽₺₫₱]|zł)"
_CURRENCY_AFTER = r"(?:[$€£¥￥₩₹₽₺₫₱]|zł|元|円|块|美元|欧元|ريال|درهم|reais)"
_CURRENCY_CODE = r"(?:USD|EUR|CNY|RMB|GBP|JPY|BRL|MXN|SAR|AED|CAD|AUD|CHF|HKD|KRW|INR)"
_EMOJI_CHAR = (
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff"
    "\u3030\u303d\u3297\u3299\u203c\u2049\u2122\u2139\u00a9\u00ae]"
)
_EMOJI_MODIFIERS = "[\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]*"
_EMOJI_UNIT = f"(?:{_EMOJI_CHAR}{_EMOJI_MODIFIERS}|[0-9#*]\ufe0f?\u20e3)"
_URL_TAIL = r"[^\s<>\"'`\u3000-\u303f\uff00-\uffef]*"

# Tried in this order; a later pattern never takes text an earlier one matched.
_PATTERNS: tuple[tuple[SpanKind, re.Pattern[str]], ...] = (
    (SpanKind.CODE, re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)),
    (SpanKind.URL, re.compile(r"(?:https?://|www\.)" + _URL_TAIL, re.IGNORECASE)),
    (
        SpanKind.EMAIL,
        re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
    ),
    (
        SpanKind.URL,
        re.compile(
            _NOT_ALNUM_BEFORE
            + r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:com|net|org|shop|store|io|co|cn|de|es|"
            r"fr|jp|br|pt|uk|me|app)(?:/" + _URL_TAIL + r")?" + _NOT_ALNUM_AFTER,
            re.IGNORECASE,
        ),
    ),
    (
        SpanKind.TRACKING_NUMBER,
        re.compile(
            _NOT_ALNUM_BEFORE
            + r"(?:1Z[0-9A-Z]{16}|[A-Z]{2}\d{9}[A-Z]{2}|[A-Z]{2,4}\d{10,})"
            + _NOT_ALNUM_AFTER
        ),
    ),
    (
        SpanKind.PRICE,
        re.compile(
            _CURRENCY_SYMBOL
            + r"\s?"
            + _AMOUNT
            + r"|"
            + _AMOUNT
            + r"\s?"
            + _CURRENCY_AFTER
            + r"|"
            + _NOT_ALNUM_BEFORE
            + _CURRENCY_CODE
            + r"\s?"
            + _AMOUNT
            + r"|"
            + _AMOUNT
            + r"\s?"
            + _CURRENCY_CODE
            + _NOT_ALNUM_AFTER
        ),
    ),
    (
        SpanKind.ORDER_NUMBER,
        re.compile(
            r"#[A-Za-z0-9]*\d[A-Za-z0-9-]*[A-Za-z0-9]|#\d"
            r"|" + _NOT_ALNUM_BEFORE + r"[A-Z]{2,5}(?:-[A-Z0-9]+)*-\d[A-Z0-9-]*[A-Z0-9]"
            r"|"
            + _NOT_ALNUM_BEFORE
            + r"[A-Z]{1,4}\d+(?:-\d+)+"
            + _NOT_ALNUM_AFTER
            + r"|"
            + _NOT_ALNUM_BEFORE
            + r"[A-Z]{1,4}\d{5,}"
            + _NOT_ALNUM_AFTER
            + r"|"
            + _NOT_ALNUM_BEFORE
            + r"\d{6,}"
            + _NOT_ALNUM_AFTER
        ),
    ),
    (SpanKind.EMOJI, re.compile(f"{_EMOJI_UNIT}(?:\u200d?{_EMOJI_UNIT})*")),
)
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


@dataclass(frozen=True)
class ProtectedSpan:
    """A span of the original text and the placeholder standing for it."""

    kind: SpanKind
    start: int
    end: int
    original: str
    replacement: str
    placeholder: str


@dataclass(frozen=True)
class ProtectedText:
    """A message with its protected spans replaced by placeholders."""

    original: str
    text: str
    spans: tuple[ProtectedSpan, ...]

    def plain_text(self) -> str:
        """The text without its protected spans, for language detection."""
        plain = self.text
        for span in self.spans:
            plain = plain.replace(span.placeholder, " ")
        return " ".join(plain.split())

    def has_translatable_text(self) -> bool:
        """True when a letter remains outside the protected spans."""
        return any(char.isalpha() for char in self.plain_text())


@dataclass(frozen=True)
class Restored:
    """A translation with its spans put back, and the spans that did not survive."""

    text: str
    damaged: tuple[ProtectedSpan, ...]
    stray_placeholders: bool

    @property
    def intact(self) -> bool:
        return not self.damaged and not self.stray_placeholders


def _found_spans(text: str, glossary: Glossary | None, target: str) -> Iterator[ProtectedSpan]:
    """Candidate spans in priority order (placeholders not assigned yet)."""
    yield from _pattern_spans(text, _PATTERNS[:3])
    if glossary:
        for match in glossary.find(text, target):
            kind = SpanKind.GLOSSARY_FIXED if match.fixed else SpanKind.GLOSSARY_KEEP
            original = text[match.start : match.end]
            yield ProtectedSpan(kind, match.start, match.end, original, match.replacement, "")
    yield from _pattern_spans(text, _PATTERNS[3:])


def _pattern_spans(
    text: str, patterns: tuple[tuple[SpanKind, re.Pattern[str]], ...]
) -> Iterator[ProtectedSpan]:
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind is SpanKind.URL:
                while end > start and text[end - 1] in _URL_TRAILING_PUNCTUATION:
                    if text[end - 1] == ")" and "(" in text[start:end]:
                        break
                    end -= 1
            if end > start:
                original = text[start:end]
                yield ProtectedSpan(kind, start, end, original, original, "")


def _free_placeholders(text: str) -> Iterator[str]:
    used = {char for char in text if is_placeholder(char)}
    for code in range(PLACEHOLDER_FIRST, PLACEHOLDER_LAST + 1):
        if chr(code) not in used:
            yield chr(code)


def protect(text: str, glossary: Glossary | None = None, target: str = "") -> ProtectedText:
    """Replace every protected span of `text` by a placeholder (see the module docstring).

    `target` is the language the text will be translated into, for fixed glossary terms.
    """
    taken: list[ProtectedSpan] = []
    for span in _found_spans(text, glossary, target):
        if all(span.end <= other.start or span.start >= other.end for other in taken):
            taken.append(span)
    taken.sort(key=lambda span: span.start)
    placeholders = _free_placeholders(text)
    spans = []
    pieces = []
    position = 0
    for span in taken:
        placeholder = next(placeholders, None)
        if placeholder is None:
            break
        spans.append(
            ProtectedSpan(
                span.kind, span.start, span.end, span.original, span.replacement, placeholder
            )
        )
        pieces.append(text[position : span.start])
        pieces.append(placeholder)
        position = span.end
    pieces.append(text[position:])
    return ProtectedText(original=text, text="".join(pieces), spans=tuple(spans))


def restore(translated: str, protected: ProtectedText) -> Restored:
    """Put the spans back into a translation of `protected.text` and check each one."""
    damaged = [span for span in protected.spans if translated.count(span.placeholder) != 1]
    text = translated
    for span in protected.spans:
        text = text.replace(span.placeholder, span.replacement)
    ours = {span.placeholder for span in protected.spans}
    theirs = {char for char in protected.original if is_placeholder(char)}
    stray = any(is_placeholder(char) and char not in theirs for char in text) or any(
        translated.count(char) != protected.text.count(char) for char in theirs - ours
    )
    expected: dict[str, int] = {}
    for span in protected.spans:
        expected[span.replacement] = expected.get(span.replacement, 0) + 1
    for span in protected.spans:
        if span not in damaged and text.count(span.replacement) < expected[span.replacement]:
            damaged.append(span)
    return Restored(text=text, damaged=tuple(damaged), stray_placeholders=stray)
