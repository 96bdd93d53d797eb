"""Batching concurrent translation requests into one engine call, off the event loop.

Requests for the same language pair that arrive within `max_wait` seconds of the first
one (or until `max_batch_size` of them) go to the engine as ONE `translate_batch` call,
run in a worker thread. While every worker is busy, requests keep joining the next
batch, so batches grow with the load; when several workers are free, the waiting
requests are shared out between them (with `max_concurrent_batches` of 2 and 32
waiting, two batches of 16 run at once). Each caller gets its own result; when a batch
fails, its texts are retried one by one so an error reaches only the caller whose text
caused it. At most `max_pending` texts wait or run at once; beyond that `translate`
raises `QueueFullError` at once instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from translation.errors import BatcherClosedError, QueueFullError, TranslationError
from translation.pairs import LanguagePair

BatchFunction = Callable[[LanguagePair, Sequence[str]], list[str]]


@dataclass
class _Request:
    text: str
    future: asyncio.Future[str]
    arrived: float


@dataclass
class _PairQueue:
    requests: list[_Request] = field(default_factory=list)
    full: asyncio.Event = field(default_factory=asyncio.Event)
    collector: asyncio.Task[None] | None = None


class Batcher:
    """Collects concurrent `translate` calls into batches for `translate_batch`.

    `translate_batch(pair, texts)` is blocking (an engine's method); it runs in a pool of
    `max_concurrent_batches` threads owned by the batcher. Use `async with` or call
    `aclose()`: it lets queued texts finish, then refuses new ones and stops the pool.
    """

    def __init__(
        self,
        translate_batch: BatchFunction,
        *,
        max_wait: float = 0.005,
        max_batch_size: int = 32,
        max_pending: int | None = 1024,
        max_concurrent_batches: int = 1,
    ) -> None:
        if max_batch_size < 1 or max_concurrent_batches < 1:
            raise ValueError("max_batch_size and max_concurrent_batches must be at least 1")
        self._translate_batch = translate_batch
        self.max_wait = max_wait
        self.max_batch_size = max_batch_size
        self.max_pending = max_pending
        self.max_concurrent_batches = max_concurrent_batches
        self._queues: dict[LanguagePair, _PairQueue] = {}
        self._pending = 0
        self._slots: asyncio.Semaphore | None = None
        self._busy = 0
        self._running: set[asyncio.Task[None]] = set()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self.batches_run = 0

    @property
    def pending(self) -> int:
        """Texts accepted and not yet answered."""
        return self._pending

    async def translate(self, pair: LanguagePair, text: str) -> str:
        """The translation of `text`, computed in a batch with concurrent requests."""
        if self._closed:
            raise BatcherClosedError("the batcher is closed")
        if self.max_pending is not None and self._pending >= self.max_pending:
            raise QueueFullError(self.max_pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        queue = self._queues.setdefault(pair, _PairQueue())
        queue.requests.append(_Request(text, future, loop.time()))
        self._pending += 1
        try:
            if queue.collector is None:
                queue.collector = asyncio.create_task(self._collect(pair, queue))
            elif len(queue.requests) >= self.max_batch_size:
                queue.full.set()
            return await future
        finally:
            self._pending -= 1

    async def _collect(self, pair: LanguagePair, queue: _PairQueue) -> None:
        """Form batches for one pair until its queue is empty.

        A batch leaves when its oldest text has waited `max_wait` or it is full. When
        several workers are free, the waiting texts are shared out between them.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent_batches)
        loop = asyncio.get_running_loop()
        try:
            while queue.requests:
                waited = loop.time() - queue.requests[0].arrived
                if len(queue.requests) < self.max_batch_size and not self._closed:
                    queue.full.clear()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(0.0, self.max_wait - waited)):
                            await queue.full.wait()
                await self._slots.acquire()
                self._busy += 1
                free = self.max_concurrent_batches - self._busy
                size = min(self.max_batch_size, -(-len(queue.requests) // (free + 1)))
                batch = [r for r in queue.requests[:size] if not r.future.done()]
                del queue.requests[:size]
                if not batch:
                    self._release_slot()
                    continue
                task = asyncio.create_task(self._run(pair, batch))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
        finally:
            queue.collector = None
            if not queue.requests:
                self._queues.pop(pair, None)

    def _release_slot(self) -> None:
        assert self._slots is not None
        self._busy -= 1
        self._slots.release()

    async def _run(self, pair: LanguagePair, batch: list[_Request]) -> None:
        """Run one batch in the pool and hand each caller its result or error."""
        try:
            texts = [request.text for request in batch]
            try:
                results = await self._call(pair, texts)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0], exc)
                    return
                for request in batch:
                    try:
                        (result,) = await self._call(pair, [request.text])
                    except Exception as single_exc:
                        _settle(request, single_exc)
                    else:
                        _settle(request, result)
                return
            for request, result in zip(batch, results, strict=True):
                _settle(request, result)
        finally:
            self._release_slot()

    async def _call(self, pair: LanguagePair, texts: list[str]) -> list[str]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.max_concurrent_batches, thread_name_prefix="translate"
            )
        loop = asyncio.get_running_loop()
        self.batches_run += 1
        results = await loop.run_in_executor(self._executor, self._translate_batch, pair, texts)
        if len(results) != len(texts):
            raise TranslationError(f"engine returned {len(results)} results for {len(texts)}")
        return results

    async def aclose(self) -> None:
        """Finish every accepted text, then refuse new ones and stop the worker threads."""
        self._closed = True
        for queue in list(self._queues.values()):
            queue.full.set()
        while self._running or any(q.collector for q in self._queues.values()):
            waiting: list[asyncio.Task[None]] = list(self._running)
            waiting += [q.collector for q in self._queues.values() if q.collector]
            await asyncio.gather(*waiting, return_exceptions=True)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def __aenter__(self) -> Batcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _settle(request: _Request, outcome: str | BaseException) -> None:
    if request.future.done():
        return
    if isinstance(outcome, BaseException):
        request.future.set_exception(outcome)
    else:
        request.future.set_result(outcome)
