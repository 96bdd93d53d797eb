"""Cutting messages into sentences and verbatim pieces."""

from __future__ import annotations

import pytest

from translation.segments import split_message, split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hello. How are you? fine thanks.", ["Hello. ", "How are you? fine thanks."]),
        ("It costs 19.99 now. Mr. Smith agrees!", ["It costs 19.99 now. ", "Mr. Smith agrees!"]),
        ("你好。我的订单在哪里？谢谢！", ["你好。", "我的订单在哪里？", "谢谢！"]),
        ("¿Dónde está? ¡Hola!", ["¿Dónde está? ", "¡Hola!"]),
        ("注文はどこですか？ありがとう。", ["注文はどこですか？", "ありがとう。"]),
        ("no punctuation at all", ["no punctuation at all"]),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  hi  ",
        "Line one\nLine two.\n\n",
        "Order \ue000 shipped, see \ue001.",
        "\ue000, \ue001",
    ],
)
def test_segments_join_back_to_the_message(text):
    assert "".join(segment.text for segment in split_message(text)) == text


def test_placeholders_and_letterless_runs_are_not_translated():
    segments = split_message("Order \ue000 shipped, see \ue001. 123")
    assert [s.text for s in segments if s.translate] == ["Order", "shipped, see"]
    inline = split_message("Order \ue000 shipped.", split_at_placeholders=False)
    assert [s.text for s in inline if s.translate] == ["Order \ue000 shipped."]
