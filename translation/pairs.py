"""Language codes and the (source, target) pair that names a translation direction."""

from __future__ import annotations

import re
from typing import NamedTuple

PIVOT_LANGUAGE = "en"

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,8})?$")


def normalize_language(code: str) -> str:
    """Lower-case, trimmed language code (`"ZH "` -> `"zh"`); ValueError if malformed."""
    normalized = code.strip().lower()
    if not _LANGUAGE_CODE.match(normalized):
        raise ValueError(f"not a language code: {code!r}")
    return normalized


class LanguagePair(NamedTuple):
    """A translation direction, e.g. `LanguagePair("zh", "en")`, printed as `zh→en`."""

    source: str
    target: str

    @classmethod
    def of(cls, source: str, target: str) -> LanguagePair:
        """The pair with both codes normalized."""
        return cls(normalize_language(source), normalize_language(target))

    def __str__(self) -> str:
        return f"{self.source}→{self.target}"
