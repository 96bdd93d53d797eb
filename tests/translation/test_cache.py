"""Translation caches: the LRU bound, Redis with TTL, and the service skipping the engine."""

from __future__ import annotations

import os
import secrets

import pytest

from tests.services import missing
from translation.argos import ArgosEngine
from translation.cache import CacheKey, MemoryCache, RedisCache, cache_from_url
from translation.packages import install_package_file
from translation.pairs import LanguagePair
from translation.service import TranslationService
from translation.testing import build_package_file

REDIS_URL = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def key(text: str, version: str = "en-zh@1.0#abc") -> CacheKey:
    return CacheKey(version, "en", "zh", text)


async def test_memory_cache_is_a_bounded_lru():
    cache = MemoryCache(max_entries=2)
    await cache.set(key("a"), "A")
    await cache.set(key("b"), "B")
    assert await cache.get(key("a")) == "A"  # now "b" is the least recently used
    await cache.set(key("c"), "C")

    assert len(cache) == 2
    assert await cache.get(key("b")) is None
    assert await cache.get(key("a")) == "A"
    assert await cache.get(key("c")) == "C"
    assert await cache.get(key("a", version="en-zh@2.0#def")) is None


class CountingEngine(ArgosEngine):
    """A real engine that counts the batches it translates."""

    calls = 0

    def translate_batch(self, pair, texts):
        self.calls += 1
        return super().translate_batch(pair, texts)


async def test_a_cache_hit_does_not_reach_the_engine(install):
    engine = CountingEngine(install(("en", "zh")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine, cache=MemoryCache()) as service:
        first = await service.translate("Thank you very much!", "en", "zh")
        second = await service.translate("Thank you very much!", "en", "zh")
        other_order = await service.translate("Your order #A1-2 has shipped.", "en", "zh")
        same_shape = await service.translate("Your order #B7-9 has shipped.", "en", "zh")

    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text and second.model_version == first.model_version
    assert (other_order.cached, same_shape.cached) == (False, True)
    assert "#B7-9" in same_shape.text and "#A1-2" not in same_shape.text
    assert engine.calls == 2


async def test_a_new_model_does_not_serve_old_translations(install, packages_dir, tmp_path):
    engine = CountingEngine(install(("en", "zh")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine) as service:
        before = await service.translate("Thank you", "en", "zh")
        newer = build_package_file(
            LanguagePair("en", "zh"), tmp_path, seed=99, package_version="2.0"
        )
        install_package_file(newer, packages_dir)
        service.refresh_models()
        after = await service.translate("Thank you", "en", "zh")

    assert not after.cached
    assert after.model_version != before.model_version
    assert after.model_version.startswith("en-zh@2.0#")


@pytest.fixture
async def redis_cache():
    cache = RedisCache.from_url(REDIS_URL, ttl=60, prefix=f"kefu-test:{secrets.token_hex(4)}:")
    try:
        await cache.client.ping()
    except Exception as exc:
        await cache.aclose()
        missing(f"Redis at {REDIS_URL} is not reachable ({exc!r})")
    try:
        yield cache
    finally:
        keys = [k async for k in cache.client.scan_iter(match=cache.prefix + "*")]
        if keys:
            await cache.client.delete(*keys)
        await cache.aclose()


async def test_redis_cache_stores_with_a_ttl(redis_cache):
    assert await redis_cache.get(key("hello")) is None
    await redis_cache.set(key("hello"), "你好 ✓")

    assert await redis_cache.get(key("hello")) == "你好 ✓"
    assert await redis_cache.get(key("hello", version="other")) is None
    assert 0 < await redis_cache.client.ttl(redis_cache.redis_key(key("hello"))) <= 60


async def test_redis_cache_is_shared_between_services(redis_cache, install):
    engine = CountingEngine(install(("en", "zh")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine, cache=redis_cache) as first_process:
        first = await first_process.translate("Where is my order?", "en", "zh")
    other_cache = RedisCache.from_url(REDIS_URL, ttl=60, prefix=redis_cache.prefix)
    async with TranslationService(engine, cache=other_cache) as second_process:
        second = await second_process.translate("Where is my order?", "en", "zh")

    assert (first.cached, second.cached) == (False, True)
    assert second.text == first.text
    assert engine.calls == 1


def test_cache_from_url_picks_the_backend():
    assert isinstance(cache_from_url(None), MemoryCache)
    assert isinstance(cache_from_url(REDIS_URL), RedisCache)
