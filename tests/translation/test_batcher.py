"""The batching worker: one engine call for concurrent requests, off the event loop."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Sequence

import pytest

from translation.argos import ArgosEngine
from translation.batcher import Batcher
from translation.errors import BatcherClosedError, NoModelError, QueueFullError
from translation.pairs import LanguagePair

EN_ZH = LanguagePair("en", "zh")
EN_ES = LanguagePair("en", "es")
TEXTS = [f"Where is my order number {n}? Thank you!" for n in range(20)]


class CountingEngine:
    """Wraps a real engine, recording each `translate_batch` call (and optionally slowing it)."""

    def __init__(self, engine: ArgosEngine, *, delay: float = 0.0, poison: str | None = None):
        self.engine = engine
        self.delay = delay
        self.poison = poison
        self.calls: list[tuple[LanguagePair, int]] = []
        self.threads: set[int] = set()
        self.intervals: list[tuple[float, float]] = []

    def translate_batch(self, pair: LanguagePair, texts: Sequence[str]) -> list[str]:
        self.calls.append((pair, len(texts)))
        self.threads.add(threading.get_ident())
        if self.poison is not None and any(self.poison in text for text in texts):
            raise ValueError("poisoned text")
        started = time.monotonic()
        if self.delay:
            time.sleep(self.delay)
        try:
            return self.engine.translate_batch(pair, texts)
        finally:
            self.intervals.append((started, time.monotonic()))


async def test_concurrent_requests_share_one_engine_call(engine):
    counting = CountingEngine(engine)
    async with Batcher(counting.translate_batch, max_wait=0.02) as batcher:
        results = await asyncio.gather(*(batcher.translate(EN_ZH, t) for t in TEXTS))

    assert 1 <= len(counting.calls) <= 2
    assert sum(size for _, size in counting.calls) == 20
    assert results == engine.translate_batch(EN_ZH, TEXTS)
    assert threading.get_ident() not in counting.threads


async def test_pairs_are_batched_separately_and_batch_size_is_capped(engine):
    counting = CountingEngine(engine)
    async with Batcher(counting.translate_batch, max_wait=0.02, max_batch_size=8) as batcher:
        requests = [batcher.translate(EN_ZH, t) for t in TEXTS]
        requests += [batcher.translate(EN_ES, t) for t in TEXTS[:5]]
        results = await asyncio.gather(*requests)

    assert len(results) == 25
    assert {size for pair, size in counting.calls if pair == EN_ZH} <= {8, 4}
    assert sorted(size for pair, size in counting.calls if pair == EN_ES) == [5]


async def test_the_event_loop_keeps_running_during_a_batch(engine):
    counting = CountingEngine(engine, delay=0.4)
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(40):
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async with Batcher(counting.translate_batch) as batcher:
        ticking = asyncio.create_task(ticker())
        await asyncio.gather(*(batcher.translate(EN_ZH, t) for t in TEXTS[:4]))
        await ticking

    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(gaps) < 0.2, f"the loop stalled for {max(gaps):.3f}s"


async def test_errors_reach_only_the_callers_they_belong_to(engine):
    counting = CountingEngine(engine, poison="POISON")
    async with Batcher(counting.translate_batch, max_wait=0.02) as batcher:
        results = await asyncio.gather(
            batcher.translate(EN_ZH, "Where is my order?"),
            batcher.translate(EN_ZH, "POISON pill"),
            batcher.translate(EN_ZH, "Thank you"),
            batcher.translate(LanguagePair("en", "de"), "No model for German"),
            return_exceptions=True,
        )

    assert isinstance(results[0], str) and isinstance(results[2], str)
    assert isinstance(results[1], ValueError)
    assert isinstance(results[3], NoModelError)
    assert results[0] == engine.translate_batch(EN_ZH, ["Where is my order?"])[0]


async def test_a_full_queue_refuses_at_once(engine):
    counting = CountingEngine(engine, delay=0.2)
    async with Batcher(counting.translate_batch, max_pending=5) as batcher:
        accepted = [asyncio.create_task(batcher.translate(EN_ZH, t)) for t in TEXTS[:5]]
        await asyncio.sleep(0)
        assert batcher.pending == 5
        with pytest.raises(QueueFullError, match="5 texts pending"):
            await batcher.translate(EN_ZH, "one too many")
        assert len(await asyncio.gather(*accepted)) == 5
    assert batcher.pending == 0


async def test_close_finishes_accepted_texts_then_refuses(engine):
    counting = CountingEngine(engine, delay=0.1)
    batcher = Batcher(counting.translate_batch, max_wait=0.05)
    waiting = [asyncio.create_task(batcher.translate(EN_ZH, t)) for t in TEXTS[:3]]
    await asyncio.sleep(0)
    await batcher.aclose()

    assert all(task.done() and isinstance(task.result(), str) for task in waiting)
    with pytest.raises(BatcherClosedError):
        await batcher.translate(EN_ZH, "too late")


async def test_a_cancelled_caller_does_not_disturb_the_others(engine):
    counting = CountingEngine(engine)
    async with Batcher(counting.translate_batch, max_wait=0.05) as batcher:
        cancelled = asyncio.create_task(batcher.translate(EN_ZH, "never mind"))
        kept = asyncio.create_task(batcher.translate(EN_ZH, "Thank you"))
        await asyncio.sleep(0)
        cancelled.cancel()
        assert await kept == engine.translate_batch(EN_ZH, ["Thank you"])[0]
    assert counting.calls == [(EN_ZH, 1)]


async def test_free_workers_share_the_waiting_texts(engine):
    counting = CountingEngine(engine, delay=0.2)
    async with Batcher(
        counting.translate_batch, max_wait=0.02, max_concurrent_batches=2
    ) as batcher:
        await asyncio.gather(*(batcher.translate(EN_ZH, t) for t in TEXTS))

    assert sorted(size for _, size in counting.calls) == [10, 10]
    assert len(counting.threads) == 2
    (_, first_end), (second_start, _) = sorted(counting.intervals)
    assert second_start < first_end, "the two batches should run at the same time"
