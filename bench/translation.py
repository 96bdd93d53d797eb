"""Translation throughput and latency: our batched service against plain argostranslate.

Builds a random-weight argos package sized like the real ones (Transformer-base: 6+6
layers, d=512, 32k vocabulary, int8), then, for 1, 8 and 32 concurrent chat clients
each sending messages back to back, prints messages/s and p50/p95 latency through
`TranslationService` (batched) and through plain per-message
`argostranslate.translate.translate` calls (naive). Prints figures, asserts nothing;
the last line is `batched/naive throughput ratio at 32: X`.

Fairness and offline notes:
- A random model rarely emits end-of-sentence, so both paths decode exactly
  `--output-tokens` tokens per sentence: our engine through `max_decoding_length`, and
  argostranslate through a thin wrapper on its CTranslate2 translator that adds the same
  `max_decoding_length` (argostranslate passes none, so it would decode 256 tokens).
- Same beam size, compute type and length penalty on both sides. argostranslate runs
  twice: as installed (`naive`: one translator thread, intra_threads 0), and tuned like
  ours (`naive-2x`: as many one-core translations in parallel as we run batches). The
  line before the last compares with the better of the two.
- argostranslate 1.11 always splits sentences with MiniSBD (no packaged model: it
  DOWNLOADS one on first use), stanza or spaCy (both download too); `ARGOS_CHUNK_TYPE`
  offers no offline splitter (`NONE` raises NotImplementedError). So its splitter is
  replaced by "the whole message is one sentence", which is what MiniSBD returns for
  these one-sentence messages, and costs argostranslate nothing.

Run: `.venv/bin/python bench/translation.py` (about a minute on 2 idle cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from translation.argos import ArgosEngine
from translation.cache import MemoryCache
from translation.packages import install_package_file
from translation.pairs import LanguagePair
from translation.service import TranslationService
from translation.testing import TRANSFORMER_BASE, build_package_file

PAIR = LanguagePair("en", "zh")
SUBJECTS = [
    "my order",
    "the package",
    "the parcel",
    "my refund",
    "the blue jacket",
    "the red dress",
    "these running shoes",
    "the tracking page",
    "my payment",
    "the coupon code",
    "the delivery",
    "the replacement phone case",
    "my second order",
    "the gift box",
    "the wireless headphones",
]
VERBS = [
    "has not arrived yet",
    "was delivered to the wrong address",
    "is still pending",
    "arrived damaged",
    "does not fit me at all",
    "was charged twice on my card",
    "is missing one item",
    "shows no update since Monday",
    "came in the wrong colour",
]
TAILS = [
    "can you check it for me please?",
    "what should I do now?",
    "I really need it before Friday.",
    "please help me as soon as possible.",
    "thank you for your help!",
    "is there a faster shipping option?",
    "could you send me a new one?",
]


def chat_message(rng: random.Random) -> str:
    """A one-sentence shopper message of roughly 15-25 tokens."""
    return f"Hello, {rng.choice(SUBJECTS)} {rng.choice(VERBS)}, {rng.choice(TAILS)}"


class UniqueMessages:
    """Chat messages never sent before in this run, so no cache anywhere can help."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sent: set[str] = set()

    def next(self) -> str:
        while True:
            message = chat_message(self.rng)
            if message not in self.sent:
                self.sent.add(message)
                return message


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run_clients(
    translate: Callable[[str], Awaitable[str]],
    concurrency: int,
    per_client: int,
    source: UniqueMessages,
) -> tuple[float, list[float]]:
    """`concurrency` clients each send `per_client` messages back to back."""
    messages = [[source.next() for _ in range(per_client)] for _ in range(concurrency)]
    latencies: list[float] = []

    async def client(texts: list[str]) -> None:
        for text in texts:
            started = time.perf_counter()
            await translate(text)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(texts) for texts in messages))
    return time.perf_counter() - started, latencies


def report(name: str, concurrency: int, elapsed: float, latencies: list[float]) -> float:
    throughput = len(latencies) / elapsed
    print(
        f"{name:8} concurrency {concurrency:2}: {throughput:6.1f} messages/s   "
        f"p50 {percentile(latencies, 0.5) * 1000:6.0f} ms   "
        f"p95 {percentile(latencies, 0.95) * 1000:6.0f} ms   ({len(latencies)} messages)",
        flush=True,
    )
    return throughput


def configure_argostranslate(packages_dir: Path, scratch: Path, output_tokens: int) -> Any:
    """Import argostranslate with settings for this run, offline (see module docstring)."""
    os.environ.update(
        {
            "ARGOS_PACKAGES_DIR": str(packages_dir),
            "XDG_DATA_HOME": str(scratch / "data"),
            "XDG_CONFIG_HOME": str(scratch / "config"),
            "XDG_CACHE_HOME": str(scratch / "cache"),
            "ARGOS_DEVICE_TYPE": "cpu",
            "ARGOS_COMPUTE_TYPE": "default",
        }
    )
    import argostranslate.sbd
    import argostranslate.translate
    import ctranslate2

    def one_sentence(self: Any, text: str) -> list[str]:
        return [text]

    argostranslate.sbd.MiniSBDSentencizer.split_sentences = one_sentence  # type: ignore[method-assign]

    class CappedTranslator:
        """argostranslate's translator, decoding the same number of tokens as ours."""

        def __init__(self, *a: Any, **kw: Any) -> None:
            self._translator = ctranslate2.Translator(*a, **kw)

        def translate_batch(self, *a: Any, **kw: Any) -> Any:
            kw["max_decoding_length"] = output_tokens
            return self._translator.translate_batch(*a, **kw)

    class Ctranslate2Shim:
        Translator = CappedTranslator

    argostranslate.translate.ctranslate2 = Ctranslate2Shim  # type: ignore[assignment]
    return argostranslate.translate


def set_argos_threads(argos: Any, beam_size: int, inter_threads: int, intra_threads: int) -> None:
    """Change argostranslate's settings and make it build a fresh translator with them."""
    from argostranslate import settings

    settings.beam_size = beam_size
    settings.inter_threads = inter_threads
    settings.intra_threads = intra_threads
    translation = argos.get_translation_from_codes(PAIR.source, PAIR.target)
    translation.underlying.translator = None
    translation.cache.clear()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-tokens", type=int, default=24)
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--inter-threads", type=int, default=2, help="ours: parallel batches")
    parser.add_argument("--intra-threads", type=int, default=1, help="ours: cores per batch")
    parser.add_argument("--rounds", type=int, default=3, help="messages per client at 8 and 32")
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as scratch_name:
        await run(args, Path(scratch_name))


async def run(args: argparse.Namespace, scratch: Path) -> None:
    """Build the model in `scratch`, then measure both paths at each concurrency."""
    packages_dir = scratch / "packages"
    rng = random.Random(0)
    corpus = [chat_message(rng) for _ in range(3000)]
    started = time.perf_counter()
    package_file = build_package_file(PAIR, scratch, size=TRANSFORMER_BASE, corpus=corpus)
    package = install_package_file(package_file, packages_dir)
    size_mb = sum(f.stat().st_size for f in package.model_dir.iterdir()) / 1e6
    print(
        f"built {package.pair} Transformer-base int8 model ({size_mb:.0f} MB, 6+6 layers, "
        f"d=512, 32k vocab) in {time.perf_counter() - started:.1f}s; beam {args.beam_size}, "
        f"{args.output_tokens} output tokens per message",
        flush=True,
    )
    import sentencepiece

    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.sentencepiece_path))
    sample_rng = random.Random(9)
    tokens = statistics.mean(len(tokenizer.encode(chat_message(sample_rng))) for _ in range(50))
    print(f"input tokens per message: {tokens:.1f} on average", flush=True)

    engine = ArgosEngine(
        packages_dir,
        inter_threads=args.inter_threads,
        intra_threads=args.intra_threads,
        beam_size=args.beam_size,
        max_decoding_length=args.output_tokens,
        decoding_length_ratio=None,
    )
    service = TranslationService(
        engine,
        cache=MemoryCache(max_entries=0),
        max_batch_size=32,
        max_concurrent_batches=args.inter_threads,
    )

    async def batched(text: str) -> str:
        result = await service.translate(text, "en", "zh")
        if not result.translated:
            raise RuntimeError(result.reason)
        return result.text

    argos = configure_argostranslate(packages_dir, scratch, args.output_tokens)
    pool = ThreadPoolExecutor(max_workers=32)

    async def naive(text: str) -> str:
        loop = asyncio.get_running_loop()
        output: str = await loop.run_in_executor(pool, argos.translate, text, "en", "zh")
        return output

    # argostranslate as installed (1 translator thread, intra 0 = CTranslate2's choice),
    # and tuned like ours (as many parallel one-core translations as we run batches).
    naive_setups = {
        "naive": (1, 0),
        "naive-2x": (args.inter_threads, args.intra_threads),
    }
    messages = UniqueMessages(seed=1)
    await batched(messages.next())
    throughput: dict[tuple[str, int], float] = {}
    for name, (inter, intra) in naive_setups.items():
        print(f"{name}: argostranslate inter_threads={inter} intra_threads={intra}")
    print(f"batched: ours inter_threads={args.inter_threads} intra_threads={args.intra_threads}")
    for concurrency in (1, 8, 32):
        per_client = 8 if concurrency == 1 else args.rounds
        elapsed, latencies = await run_clients(batched, concurrency, per_client, messages)
        throughput["batched", concurrency] = report("batched", concurrency, elapsed, latencies)
        for name, (inter, intra) in naive_setups.items():
            set_argos_threads(argos, args.beam_size, inter, intra)
            await naive(messages.next())
            elapsed, latencies = await run_clients(naive, concurrency, per_client, messages)
            throughput[name, concurrency] = report(name, concurrency, elapsed, latencies)
    await service.aclose()
    pool.shutdown()
    print(f"engine batches run: {service.batcher.batches_run}")
    best_naive = max(throughput[name, 32] for name in naive_setups)
    tuned_ratio = throughput["batched", 32] / best_naive
    print(f"batched/best-tuned-naive throughput ratio at 32: {tuned_ratio:.1f}")
    ratio = throughput["batched", 32] / throughput["naive", 32]
    print(f"batched/naive throughput ratio at 32: {ratio:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
