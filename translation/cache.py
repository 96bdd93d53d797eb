"""A cache of translations for repeated text (canned replies, "thank you").

Contract of every `TranslationCache`: entries are keyed by (model version, source
language, target language, text) so a new model never serves an old model's output;
`get` returns None on a miss; a cache may forget any entry at any time (size bound,
expiry), and a failing cache backend must not fail a translation (the service treats
errors as misses). `MemoryCache` is a bounded in-process LRU, the default;
`RedisCache` shares entries between server processes and expires them after a TTL.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any, NamedTuple


class CacheKey(NamedTuple):
    """What a cached translation depends on."""

    model_version: str
    source: str
    target: str
    text: str

    def digest(self) -> str:
        """A fixed-length hex digest of the key, for backends with key size limits."""
        joined = "\x1f".join(self)
        return hashlib.sha256(joined.encode("utf-8")).hexdigest()


class TranslationCache(ABC):
    """Stores translated text by `CacheKey` (see the module contract)."""

    @abstractmethod
    async def get(self, key: CacheKey) -> str | None:
        """The cached translation, or None."""

    @abstractmethod
    async def set(self, key: CacheKey, translation: str) -> None:
        """Remember `translation` for `key`."""

    async def aclose(self) -> None:
        """Release connections; the default has none."""
        return None


class MemoryCache(TranslationCache):
    """In-process LRU holding at most `max_entries` translations (`None`: unbounded)."""

    def __init__(self, *, max_entries: int | None = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[CacheKey, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: CacheKey) -> str | None:
        translation = self._entries.get(key)
        if translation is not None:
            self._entries.move_to_end(key)
        return translation

    async def set(self, key: CacheKey, translation: str) -> None:
        self._entries[key] = translation
        self._entries.move_to_end(key)
        if self.max_entries is not None:
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class RedisCache(TranslationCache):
    """Translations in Redis under `prefix + sha256(key)`, expiring after `ttl` seconds.

    Takes a `redis.asyncio.Redis` client (`RedisCache.from_url(url)` makes one).
    """

    def __init__(self, client: Any, *, ttl: int | None = 7 * 24 * 3600, prefix: str = "kefu:tr:"):
        self.client = client
        self.ttl = ttl
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisCache:
        """A cache on the Redis at `url` (`redis://host:port/db`)."""
        import redis.asyncio

        return cls(redis.asyncio.Redis.from_url(url), **options)

    def redis_key(self, key: CacheKey) -> str:
        return self.prefix + key.digest()

    async def get(self, key: CacheKey) -> str | None:
        value = await self.client.get(self.redis_key(key))
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def set(self, key: CacheKey, translation: str) -> None:
        await self.client.set(self.redis_key(key), translation.encode("utf-8"), ex=self.ttl)

    async def aclose(self) -> None:
        await self.client.aclose()


def cache_from_url(redis_url: str | None, **options: Any) -> TranslationCache:
    """`RedisCache` on `redis_url` (e.g. `KEFU_REDIS_URL`), or a `MemoryCache` when None."""
    if redis_url:
        return RedisCache.from_url(redis_url, **options)
    return MemoryCache(**options)
