"""The exceptions the translation package raises, under one base.

    TranslationError
    ├── NoModelError          no installed model (direct or through English) for a pair
    ├── PackageError          a package file or folder is not a valid argos package
    ├── PackageIndexError     the Argos package index cannot be read or has no such pair
    ├── QueueFullError        the batcher holds its maximum of pending texts
    └── BatcherClosedError    the batcher was closed before or while a text waited

`TranslationService.translate` catches all of them and returns a result that says why
the text is untranslated; the others reach the code that installs or manages models.
"""

from __future__ import annotations

from collections.abc import Sequence

from translation.pairs import LanguagePair


class TranslationError(Exception):
    """Base of every error raised by the translation package."""


class NoModelError(TranslationError):
    """No installed model translates `pair`, directly or through English.

    `missing` lists the pairs whose installation would make `pair` work: the direct
    pair when one side is English, else the legs through English that are missing.
    """

    def __init__(self, pair: LanguagePair, missing: Sequence[LanguagePair]) -> None:
        self.pair = pair
        self.missing = tuple(missing)
        needed = ", ".join(str(p) for p in self.missing)
        super().__init__(f"no translation model for {pair}; install {needed}")


class PackageError(TranslationError):
    """A file or folder is not a valid argos translate package; the message says why."""


class PackageIndexError(TranslationError):
    """The Argos package index could not be read, or lists no package for the pair."""


class QueueFullError(TranslationError):
    """The batcher already holds `limit` pending texts; the caller should back off."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"translation queue full ({limit} texts pending)")


class BatcherClosedError(TranslationError):
    """The batcher is closed: it accepts no new text."""
