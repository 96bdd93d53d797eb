"""TranslationService: results for every case, and never an exception for the caller."""

from __future__ import annotations

import asyncio

from translation.argos import ArgosEngine
from translation.pairs import LanguagePair
from translation.service import Flag, TranslationService


async def test_translates_and_reports_what_it_used(service, engine):
    result = await service.translate("Where is my order?", "en", "zh")

    assert result.translated and result.flags == frozenset()
    assert (
        result.text == engine.translate_batch(LanguagePair("en", "zh"), ["Where is my order?"])[0]
    )
    assert (result.source, result.target, result.source_detected) == ("en", "zh", False)
    assert result.model_version == engine.model_version(LanguagePair("en", "zh"))
    assert result.original == "Where is my order?"
    assert result.to_json()["flags"] == []


async def test_no_model_returns_the_original_and_names_the_missing_pair(install):
    engine = ArgosEngine(install(("zh", "en")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine) as service:
        to_spanish = await service.translate("我的订单在哪里？", "zh", "es")
        to_german = await service.translate("Where is my order?", "en", "de")

    assert not to_spanish.translated and to_spanish.text == "我的订单在哪里？"
    assert to_spanish.flags == {Flag.NO_MODEL}
    assert to_spanish.missing_pairs == (LanguagePair("en", "es"),)
    assert to_german.missing_pairs == (LanguagePair("en", "de"),)
    assert to_german.to_json()["missing_pairs"] == [["en", "de"]]
    assert "en→de" in to_german.reason


async def test_pivot_through_english(install):
    engine = ArgosEngine(install(("zh", "en"), ("en", "es")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine) as service:
        result = await service.translate("我的订单 #A1-2 在哪里？", "zh", "es")
    assert result.translated and "#A1-2" in result.text
    assert "+" in (result.model_version or "")


async def test_detects_the_source_or_keeps_the_conversation_language(service):
    detected = await service.translate("我的订单在哪里？", None, "en")
    assert (detected.source, detected.source_detected, detected.translated) == ("zh", True, True)

    short = await service.translate("ok", None, "zh", fallback_source="es")
    assert short.source == "es" and short.translated

    unknown = await service.translate("ok", None, "zh")
    assert unknown.flags == {Flag.SOURCE_UNKNOWN} and unknown.text == "ok"


async def test_same_language_and_nothing_to_translate(service):
    same = await service.translate("谢谢", "zh", "zh")
    assert same.flags == {Flag.SAME_LANGUAGE} and same.text == "谢谢"
    emoji = await service.translate("👍 #A123-456 https://x.example.com", "en", "zh")
    assert emoji.flags == {Flag.NOTHING_TO_TRANSLATE}
    assert emoji.text == "👍 #A123-456 https://x.example.com"


async def test_engine_failures_and_overload_become_flags(install):
    class BrokenEngine(ArgosEngine):
        def translate_batch(self, pair, texts):
            raise RuntimeError("model file corrupted")

    broken = BrokenEngine(install(("en", "zh")), beam_size=1)
    async with TranslationService(broken) as service:
        result = await service.translate("Where is my order?", "en", "zh")
    assert result.flags == {Flag.ENGINE_ERROR} and result.text == "Where is my order?"

    engine = ArgosEngine(install(("en", "zh")), beam_size=1, max_decoding_length=48)
    async with TranslationService(engine, max_pending=2, max_wait=0.3) as service:
        results = await asyncio.gather(
            *(service.translate(f"Order {n} is late", "en", "zh") for n in range(4))
        )
    flags = [r.flags for r in results]
    assert flags.count(frozenset()) == 2
    assert flags.count(frozenset({Flag.OVERLOADED})) == 2
    assert service.stats.untranslated[Flag.OVERLOADED] == 2


async def test_many_concurrent_messages_share_batches(service):
    texts = [f"Hello, my order {n} has not arrived." for n in range(24)]
    results = await asyncio.gather(*(service.translate(t, "en", "zh") for t in texts))
    assert all(r.translated for r in results)
    assert service.batcher.batches_run <= 3
