"""`TranslationService`: one call that turns a chat message into a reader's language.

It detects the source language when not given, protects spans and glossary terms,
looks the protected text up in the cache, otherwise sends it through the batcher to
the engine, restores and checks the protected spans, and returns a
`TranslationResult`. It never raises for a translation that cannot be made: the
result says the text is untranslated and why (its `flags`), and `text` is then the
original, so the reader always gets something true.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from translation.batcher import Batcher
from translation.cache import CacheKey, MemoryCache, TranslationCache
from translation.detect import LanguageDetector
from translation.engine import TranslationEngine
from translation.errors import NoModelError, QueueFullError, TranslationError
from translation.glossary import Glossary
from translation.pairs import LanguagePair, normalize_language
from translation.protect import SpanKind, protect, restore

log = logging.getLogger(__name__)


class Flag(enum.Enum):
    """Why a result is the way it is; the value is its name in events and the API."""

    SAME_LANGUAGE = "same_language"
    NO_MODEL = "no_model"
    PROTECTED_SPAN_DAMAGED = "protected_span_damaged"
    SOURCE_UNKNOWN = "source_unknown"
    NOTHING_TO_TRANSLATE = "nothing_to_translate"
    OVERLOADED = "overloaded"
    ENGINE_ERROR = "engine_error"


@dataclass(frozen=True)
class TranslationResult:
    """A message for one reader: `text` is the translation, or the original if none."""

    text: str
    original: str
    source: str | None
    target: str
    translated: bool
    source_detected: bool = False
    model_version: str | None = None
    cached: bool = False
    flags: frozenset[Flag] = frozenset()
    missing_pairs: tuple[LanguagePair, ...] = ()
    damaged_spans: tuple[SpanKind, ...] = ()
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict for events and API responses."""
        return {
            "text": self.text,
            "source": self.source,
            "target": self.target,
            "translated": self.translated,
            "source_detected": self.source_detected,
            "model_version": self.model_version,
            "cached": self.cached,
            "flags": sorted(flag.value for flag in self.flags),
            "missing_pairs": [[p.source, p.target] for p in self.missing_pairs],
            "damaged_spans": [kind.value for kind in self.damaged_spans],
            "reason": self.reason,
        }


@dataclass
class ServiceStats:
    """Counters for monitoring."""

    requests: int = 0
    cache_hits: int = 0
    translated: int = 0
    untranslated: dict[Flag, int] = field(default_factory=dict)


class TranslationService:
    """Translates chat messages with an engine, a batcher, a cache and a detector.

    `candidates` are the languages detection chooses among when a call gives none (a
    tenant's languages). Batching options are passed to `Batcher`; set
    `max_concurrent_batches` to the engine's `inter_threads`. Close with `aclose()`.
    """

    def __init__(
        self,
        engine: TranslationEngine,
        *,
        cache: TranslationCache | None = None,
        detector: LanguageDetector | None = None,
        candidates: Collection[str] = (),
        max_wait: float = 0.005,
        max_batch_size: int = 32,
        max_pending: int | None = 1024,
        max_concurrent_batches: int = 1,
    ) -> None:
        self.engine = engine
        self.cache = cache if cache is not None else MemoryCache()
        self.detector = detector if detector is not None else LanguageDetector()
        self.candidates = frozenset(normalize_language(code) for code in candidates)
        self.batcher = Batcher(
            engine.translate_batch,
            max_wait=max_wait,
            max_batch_size=max_batch_size,
            max_pending=max_pending,
            max_concurrent_batches=max_concurrent_batches,
        )
        self.stats = ServiceStats()

    def detect(self, text: str, candidates: Collection[str] | None = None) -> str | None:
        """The language of `text` among `candidates` (default: the service's), or None."""
        return self.detector.detect(text, candidates or self.candidates)

    async def translate(
        self,
        text: str,
        source: str | None,
        target: str,
        glossary: Glossary | None = None,
        *,
        candidates: Collection[str] | None = None,
        fallback_source: str | None = None,
    ) -> TranslationResult:
        """`text` in `target`; never raises for a text it cannot translate.

        `source` None: detect it among `candidates`, else use `fallback_source` (the
        conversation's language), else return the original flagged `source_unknown`.
        """
        self.stats.requests += 1
        target = normalize_language(target)
        detected = source is None
        if source is None:
            source = self.detect(text, candidates) or fallback_source
        if source is None:
            return self._untranslated(
                text, None, target, Flag.SOURCE_UNKNOWN, "language not recognised"
            )
        source = normalize_language(source)
        if source == target:
            return self._untranslated(
                text,
                source,
                target,
                Flag.SAME_LANGUAGE,
                "already in the reader's language",
                detected=detected,
            )
        protected = protect(text, glossary, target)
        if not protected.has_translatable_text():
            return self._untranslated(
                text,
                source,
                target,
                Flag.NOTHING_TO_TRANSLATE,
                "nothing to translate",
                detected=detected,
            )
        pair = LanguagePair(source, target)
        try:
            version = await asyncio.to_thread(self.engine.model_version, pair)
        except NoModelError as exc:
            return self._untranslated(
                text,
                source,
                target,
                Flag.NO_MODEL,
                str(exc),
                detected=detected,
                missing=exc.missing,
            )
        key = CacheKey(version, source, target, protected.text)
        output = await self._cached(key)
        cached = output is not None
        if output is None:
            try:
                output = await self.batcher.translate(pair, protected.text)
            except QueueFullError as exc:
                return self._untranslated(
                    text, source, target, Flag.OVERLOADED, str(exc), detected=detected
                )
            except NoModelError as exc:
                return self._untranslated(
                    text,
                    source,
                    target,
                    Flag.NO_MODEL,
                    str(exc),
                    detected=detected,
                    missing=exc.missing,
                )
            except Exception as exc:
                log.exception("translation %s failed", pair)
                reason = str(exc) if isinstance(exc, TranslationError) else "translation failed"
                return self._untranslated(
                    text, source, target, Flag.ENGINE_ERROR, reason, detected=detected
                )
            await self._remember(key, output)
        else:
            self.stats.cache_hits += 1
        restored = restore(output, protected)
        if not restored.intact:
            kinds = tuple(span.kind for span in restored.damaged)
            result = self._untranslated(
                text,
                source,
                target,
                Flag.PROTECTED_SPAN_DAMAGED,
                "the translation altered a protected part of the message",
                detected=detected,
                damaged=kinds,
                version=version,
            )
            return result
        self.stats.translated += 1
        return TranslationResult(
            text=restored.text,
            original=text,
            source=source,
            target=target,
            translated=True,
            source_detected=detected,
            model_version=version,
            cached=cached,
        )

    async def _cached(self, key: CacheKey) -> str | None:
        try:
            return await self.cache.get(key)
        except Exception:
            log.warning("translation cache read failed", exc_info=True)
            return None

    async def _remember(self, key: CacheKey, output: str) -> None:
        try:
            await self.cache.set(key, output)
        except Exception:
            log.warning("translation cache write failed", exc_info=True)

    def _untranslated(
        self,
        text: str,
        source: str | None,
        target: str,
        flag: Flag,
        reason: str,
        *,
        detected: bool = False,
        missing: tuple[LanguagePair, ...] = (),
        damaged: tuple[SpanKind, ...] = (),
        version: str | None = None,
    ) -> TranslationResult:
        self.stats.untranslated[flag] = self.stats.untranslated.get(flag, 0) + 1
        return TranslationResult(
            text=text,
            original=text,
            source=source,
            target=target,
            translated=False,
            source_detected=detected,
            model_version=version,
            flags=frozenset({flag}),
            missing_pairs=missing,
            damaged_spans=damaged,
            reason=reason,
        )

    def can_translate(self, source: str, target: str) -> bool:
        """True when a model (direct or through English) covers source→target."""
        return self.engine.can_translate(LanguagePair.of(source, target))

    def refresh_models(self) -> None:
        """Pick up packages installed or removed since start (blocking: a folder scan)."""
        self.engine.refresh()

    async def aclose(self) -> None:
        """Finish queued translations, stop the worker threads, close the cache."""
        await self.batcher.aclose()
        await self.cache.aclose()

    async def __aenter__(self) -> TranslationService:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
