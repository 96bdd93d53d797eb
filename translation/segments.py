"""Cutting a chat message into the pieces a model translates and the pieces it must not see.

No model and no download: sentences end at `. ! ? …` followed by a space and a word
that does not start in lower case, or at the CJK full stops `。！？` (no space needed).
Line breaks, placeholders of protected spans, and runs without a single letter
(`"—"`, `", "`, `"1."`) are kept verbatim. Joining every piece's text gives back the
input exactly, so the layout of a message survives translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from translation.engine import PLACEHOLDER_FIRST, PLACEHOLDER_LAST

_PLACEHOLDER_CLASS = f"\\u{PLACEHOLDER_FIRST:04x}-\\u{PLACEHOLDER_LAST:04x}"
_HARD_BREAKS = re.compile(f"([{_PLACEHOLDER_CLASS}]|\\s*\\n\\s*)")
_LINE_BREAKS = re.compile(r"(\s*\n\s*)")
_SENTENCE_END = re.compile(r"(?:[.!?…]+[\"'”’»)\]]*(?P<space>\s+)|[。！？]+[」』”’）)]*\s*)")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "no", "vs", "e.g", "i.e", "approx"})


@dataclass(frozen=True)
class Segment:
    """A piece of a message: `translate` says whether the model should see it."""

    text: str
    translate: bool


def _has_letter(text: str) -> bool:
    return any(char.isalpha() for char in text)


def split_sentences(text: str) -> list[str]:
    """Cut `text` into sentences; the whitespace between them stays at each sentence's end."""
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if end >= len(text):
            break
        following = text[end]
        if match.group("space") is not None:
            if following.islower():
                continue
            word = re.search(r"([\w.]+)\.\W*$", text[start : match.start() + 1])
            if word and word.group(1).lower() in _ABBREVIATIONS:
                continue
        sentences.append(text[start:end])
        start = end
    if start < len(text):
        sentences.append(text[start:])
    return sentences


def _split_run(run: str) -> list[Segment]:
    """A run with no line break or placeholder: outer whitespace kept, sentences cut."""
    core = run.strip()
    if not core or not _has_letter(core):
        return [Segment(run, translate=False)]
    segments = []
    lead = run[: len(run) - len(run.lstrip())]
    if lead:
        segments.append(Segment(lead, translate=False))
    for sentence in split_sentences(core):
        body = sentence.rstrip()
        if body:
            segments.append(Segment(body, translate=_has_letter(body)))
        if len(body) < len(sentence):
            segments.append(Segment(sentence[len(body) :], translate=False))
    trail = run[len(lead) + len(core) :]
    if trail:
        segments.append(Segment(trail, translate=False))
    return segments


def split_message(text: str, *, split_at_placeholders: bool = True) -> list[Segment]:
    """Cut a message into segments; `"".join(s.text for s in result) == text`.

    With `split_at_placeholders` (the default) a placeholder never reaches the model;
    without it, placeholders stay inside sentences for models that copy unknown tokens.
    """
    breaks = _HARD_BREAKS if split_at_placeholders else _LINE_BREAKS
    segments: list[Segment] = []
    for index, part in enumerate(breaks.split(text)):
        if not part:
            continue
        if index % 2:
            segments.append(Segment(part, translate=False))
        else:
            segments.extend(_split_run(part))
    return segments
