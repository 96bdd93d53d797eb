"""The translation engine interface: what the service needs from any machine translator.

An engine translates a batch of texts for one language pair, says which pairs it has
installed models for, and names the model version behind each pair (the cache keys on
it, so a new model never serves an old model's translations).

Contract, for every implementation:

- `translate_batch` blocks and is called from worker threads, possibly several at once;
  it returns one output per input, in order. It raises `NoModelError` for a pair it
  cannot translate.
- Placeholders: each character from `PLACEHOLDER_FIRST` to `PLACEHOLDER_LAST` (the
  Unicode Private Use Area of the Basic Multilingual Plane) marks a protected span
  removed by `translation.protect`. An engine must output every placeholder of the
  input exactly once. Engines that cannot promise it are still safe: the service
  checks every placeholder and serves the original on any damage.
- Pairs with no direct model are routed through English (`find_route`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence

from translation.errors import NoModelError
from translation.pairs import PIVOT_LANGUAGE, LanguagePair

PLACEHOLDER_FIRST = 0xE000
PLACEHOLDER_LAST = 0xF8FF


def is_placeholder(char: str) -> bool:
    """True for a single character reserved as a protected-span placeholder."""
    return PLACEHOLDER_FIRST <= ord(char) <= PLACEHOLDER_LAST


def find_route(pair: LanguagePair, installed: Collection[LanguagePair]) -> tuple[LanguagePair, ...]:
    """The installed pairs that translate `pair`: itself, or two legs through English.

    Raises `NoModelError` naming the pairs to install when there is no route.
    """
    if pair in installed:
        return (pair,)
    pivot = PIVOT_LANGUAGE
    if pivot in pair:
        raise NoModelError(pair, [pair])
    first, second = LanguagePair(pair.source, pivot), LanguagePair(pivot, pair.target)
    missing = [leg for leg in (first, second) if leg not in installed]
    if missing:
        raise NoModelError(pair, missing)
    return (first, second)


class TranslationEngine(ABC):
    """A machine translator for the pairs it has models for (see the module contract)."""

    @abstractmethod
    def installed_pairs(self) -> frozenset[LanguagePair]:
        """The pairs with a direct model (pivot routes are not listed)."""

    @abstractmethod
    def model_version(self, pair: LanguagePair) -> str:
        """A string that changes whenever the model(s) behind `pair` change.

        Covers pivot routes. Raises `NoModelError` when `pair` cannot be translated.
        """

    @abstractmethod
    def translate_batch(self, pair: LanguagePair, texts: Sequence[str]) -> list[str]:
        """Translate every text from `pair.source` to `pair.target`; blocking."""

    def refresh(self) -> None:
        """Pick up models installed or removed since the engine started (default: none)."""
        return None

    def route(self, pair: LanguagePair) -> tuple[LanguagePair, ...]:
        """The installed pairs used to translate `pair` (raises `NoModelError`)."""
        return find_route(pair, self.installed_pairs())

    def can_translate(self, pair: LanguagePair) -> bool:
        """True when `pair` has a direct model or a route through English."""
        try:
            self.route(pair)
        except NoModelError:
            return False
        return True
