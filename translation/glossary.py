"""A tenant's glossary: terms never translated, and terms with a fixed translation.

`keep` holds brand and product names shown exactly as the writer typed them. `fixed`
maps a term to its translation per target language (`{"包邮": {"en": "free
shipping"}}`); a fixed term with no entry for the target is kept as written. Terms
match case-insensitively; a term starting or ending with a Latin letter or digit
matches only as a whole word (so "Kefu" is not found inside "Kefuland").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class GlossaryMatch:
    """A glossary term found in a text and what the reader must see instead of it."""

    start: int
    end: int
    fixed: bool
    replacement: str


@dataclass(frozen=True)
class Glossary:
    """Terms protected from the model (see the module docstring)."""

    keep: frozenset[str] = frozenset()
    fixed: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(
        cls, keep: Iterable[str] = (), fixed: Mapping[str, Mapping[str, str]] | None = None
    ) -> Glossary:
        """A glossary from any iterable of kept terms and a mapping of fixed ones."""
        terms = frozenset(t.strip() for t in keep if t.strip())
        fixed_terms = {
            term.strip(): {lang.lower(): text for lang, text in translations.items()}
            for term, translations in (fixed or {}).items()
            if term.strip()
        }
        return cls(keep=terms, fixed=fixed_terms)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Glossary:
        """From stored settings: `{"keep": [...], "fixed": {term: {lang: text}}}`."""
        return cls.of(data.get("keep", ()), data.get("fixed") or {})

    def to_json(self) -> dict[str, Any]:
        return {
            "keep": sorted(self.keep),
            "fixed": {term: dict(t) for term, t in sorted(self.fixed.items())},
        }

    def __bool__(self) -> bool:
        return bool(self.keep or self.fixed)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        terms = sorted({*self.keep, *self.fixed}, key=len, reverse=True)
        if not terms:
            return None
        return re.compile("|".join(_term_pattern(t) for t in terms), re.IGNORECASE)

    @cached_property
    def _fixed_by_folded(self) -> dict[str, Mapping[str, str]]:
        return {term.casefold(): translations for term, translations in self.fixed.items()}

    def find(self, text: str, target: str) -> list[GlossaryMatch]:
        """Every glossary term in `text`, longest first where terms overlap."""
        if self._pattern is None:
            return []
        matches = []
        for match in self._pattern.finditer(text):
            translations = self._fixed_by_folded.get(match.group().casefold())
            if translations is None:
                matches.append(GlossaryMatch(match.start(), match.end(), False, match.group()))
            else:
                replacement = translations.get(target.lower(), match.group())
                matches.append(GlossaryMatch(match.start(), match.end(), True, replacement))
        return matches


_LATIN_WORD_CHAR = "A-Za-z0-9\u00c0-\u024f"


def _term_pattern(term: str) -> str:
    pattern = re.escape(term)
    if re.match(f"[{_LATIN_WORD_CHAR}]", term[0]):
        pattern = f"(?<![{_LATIN_WORD_CHAR}])" + pattern
    if re.match(f"[{_LATIN_WORD_CHAR}]", term[-1]):
        pattern = pattern + f"(?![{_LATIN_WORD_CHAR}])"
    return pattern
