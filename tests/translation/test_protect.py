"""Protected spans and glossary terms: found, kept through a real model, checked after."""

from __future__ import annotations

import pytest

from translation.argos import ArgosEngine
from translation.glossary import Glossary
from translation.protect import SpanKind, protect, restore
from translation.service import Flag, TranslationService

SPANS = [
    ("Your order #A123-456 has shipped.", SpanKind.ORDER_NUMBER, "#A123-456"),
    ("Reference ORD-2024-0001 please.", SpanKind.ORDER_NUMBER, "ORD-2024-0001"),
    ("订单号987654321已发货", SpanKind.ORDER_NUMBER, "987654321"),
    ("UPS says 1Z999AA10123456784 today.", SpanKind.TRACKING_NUMBER, "1Z999AA10123456784"),
    ("China Post LX123456789CN is late.", SpanKind.TRACKING_NUMBER, "LX123456789CN"),
    ("Only ¥199 today!", SpanKind.PRICE, "¥199"),
    ("It was $19.99 yesterday.", SpanKind.PRICE, "$19.99"),
    ("Now 19,99 € instead.", SpanKind.PRICE, "19,99 €"),
    (
        "See https://shop.example.com/t?id=a_b&x=1. Thanks",
        SpanKind.URL,
        "https://shop.example.com/t?id=a_b&x=1",
    ),
    ("Visit www.example.com/sale_2024 now", SpanKind.URL, "www.example.com/sale_2024"),
    ("Write to jane.doe+shop@example.co.uk today", SpanKind.EMAIL, "jane.doe+shop@example.co.uk"),
    ("I love it 👍🏽 so much", SpanKind.EMOJI, "👍🏽"),
    ("Family 👨‍👩‍👧 photo", SpanKind.EMOJI, "👨‍👩‍👧"),
    ("Run `pip install kefu` first", SpanKind.CODE, "`pip install kefu`"),
]


@pytest.mark.parametrize(("text", "kind", "span"), SPANS)
def test_each_kind_of_span_is_found(text, kind, span):
    protected = protect(text)
    assert [(s.kind, s.original) for s in protected.spans] == [(kind, span)]
    assert span not in protected.text
    assert restore(protected.text, protected).text == text


def test_plain_numbers_and_times_are_left_to_the_model():
    assert protect("I have 2 items and 12345 points at 10:30").spans == ()


async def test_every_kind_survives_a_real_model_translation(service):
    message = " ".join(text for text, _, _ in SPANS)
    result = await service.translate(message, "en", "zh")

    assert result.translated, result.reason
    assert result.text != message
    for _, _, span in SPANS:
        assert result.text.count(span) == 1, span


async def test_glossary_terms_are_kept_or_given_their_fixed_translation(service):
    glossary = Glossary.of(
        keep=["Kefu", "AirPods Pro"],
        fixed={"free shipping": {"zh": "包邮", "es": "envío gratis"}},
    )
    text = "Kefu sells AirPods pro with Free Shipping, unlike Kefuland."
    to_zh = await service.translate(text, "en", "zh", glossary)
    to_es = await service.translate(text, "en", "es", glossary)

    assert to_zh.translated and to_es.translated
    assert to_zh.text.count("Kefu") == 1 and "AirPods pro" in to_zh.text
    assert "包邮" in to_zh.text and "Free Shipping" not in to_zh.text
    assert "envío gratis" in to_es.text
    assert "Kefuland" not in to_zh.text  # not a glossary term: the model translated it


def test_glossary_round_trips_through_json():
    glossary = Glossary.of(keep=["Kefu"], fixed={"包邮": {"EN": "free shipping"}})
    assert Glossary.from_json(glossary.to_json()) == glossary
    assert glossary.fixed["包邮"]["en"] == "free shipping"
    assert not Glossary()


async def test_a_damaged_span_gives_the_reader_the_original(install):
    """A model that sees placeholders (and, being random, drops them) trips the check."""
    engine = ArgosEngine(
        install(("en", "zh")), beam_size=1, max_decoding_length=48, split_at_placeholders=False
    )
    text = "Your order #A123-456 costs $19.99."
    async with TranslationService(engine) as service:
        result = await service.translate(text, "en", "zh")

    assert not result.translated
    assert result.text == text
    assert result.flags == {Flag.PROTECTED_SPAN_DAMAGED}
    assert set(result.damaged_spans) <= {SpanKind.ORDER_NUMBER, SpanKind.PRICE}
    assert result.damaged_spans
    assert result.model_version is not None


def test_restore_flags_lost_duplicated_and_stray_placeholders():
    protected = protect("Order #A1-2 for $5")
    first, second = (span.placeholder for span in protected.spans)

    assert restore(f"订单 {first} {second}", protected).intact
    lost = restore(f"订单 {first}", protected)
    assert [s.kind for s in lost.damaged] == [SpanKind.PRICE]
    doubled = restore(f"{first} {first} {second}", protected)
    assert [s.kind for s in doubled.damaged] == [SpanKind.ORDER_NUMBER]
    stray = restore(f"{first} {second} \ue0ff", protected)
    assert stray.damaged == () and stray.stray_placeholders and not stray.intact


def test_placeholders_avoid_private_use_characters_already_in_the_text():
    protected = protect("\ue000 order #A1-2")
    assert protected.spans[0].placeholder != "\ue000"
    assert restore(protected.text, protected).text == "\ue000 order #A1-2"
