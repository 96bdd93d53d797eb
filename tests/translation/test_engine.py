"""The CTranslate2 + SentencePiece engine on tiny real packages."""

from __future__ import annotations

import pytest

from translation.argos import ArgosEngine, decode_pieces
from translation.errors import NoModelError
from translation.packages import install_package_file
from translation.pairs import LanguagePair

EN_ZH = LanguagePair("en", "zh")
ZH_ES = LanguagePair("zh", "es")


def test_translation_is_deterministic_and_real(engine, install):
    texts = ["Where is my order?", "Thank you very much for your help!"]
    first = engine.translate_batch(EN_ZH, texts)
    again = ArgosEngine(install(), beam_size=1, max_decoding_length=48).translate_batch(
        EN_ZH, texts
    )

    assert first == again
    assert len(first) == 2
    assert all(output and output != text for output, text in zip(first, texts, strict=True))
    assert first[0] != first[1]


def test_a_batch_gives_the_same_outputs_as_single_calls(engine):
    texts = ["Where is my order?", "Please send me the tracking number.", "Where is my order?"]
    batched = engine.translate_batch(EN_ZH, texts)
    assert batched == [engine.translate_batch(EN_ZH, [t])[0] for t in texts]


def test_layout_and_placeholders_are_kept(engine):
    text = "Hello.\n\nYour order \ue000 has shipped \ue001!\n"
    (output,) = engine.translate_batch(EN_ZH, [text])
    assert output.count("\ue000") == 1
    assert output.count("\ue001") == 1
    assert output.count("\n") == 3
    assert output.endswith("\ue001!\n")


def test_decoding_keeps_underscores_and_placeholders(engine):
    """argostranslate's decoder turns `_` into a space; SentencePiece decoding does not."""
    import sentencepiece

    package = engine.packages()[EN_ZH]
    tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.sentencepiece_path))
    text = "see a_b \ue000\ue001 now"
    pieces = tokenizer.encode(text, out_type=str)
    assert "\ue000\ue001" in pieces
    assert decode_pieces(tokenizer, pieces) == text


def test_pivot_through_english(install):
    engine = ArgosEngine(install(("zh", "en"), ("en", "es")), beam_size=1, max_decoding_length=48)
    texts = ["我的订单在哪里？", "谢谢您的帮助！"]

    assert engine.route(ZH_ES) == (LanguagePair("zh", "en"), LanguagePair("en", "es"))
    through_english = engine.translate_batch(
        LanguagePair("en", "es"), engine.translate_batch(LanguagePair("zh", "en"), texts)
    )
    assert engine.translate_batch(ZH_ES, texts) == through_english
    version = engine.model_version(ZH_ES)
    assert version.startswith("zh-en@1.0#") and "+en-es@1.0#" in version


def test_missing_models_name_what_to_install(install):
    engine = ArgosEngine(install(("zh", "en")), beam_size=1)
    with pytest.raises(NoModelError) as missing_leg:
        engine.translate_batch(ZH_ES, ["你好"])
    assert missing_leg.value.missing == (LanguagePair("en", "es"),)
    with pytest.raises(NoModelError) as missing_direct:
        engine.model_version(LanguagePair("en", "de"))
    assert missing_direct.value.missing == (LanguagePair("en", "de"),)
    assert not engine.can_translate(ZH_ES)
    assert engine.can_translate(LanguagePair("zh", "en"))


def test_refresh_picks_up_a_new_install(install, package_files, packages_dir):
    engine = ArgosEngine(install(("en", "zh")), beam_size=1, max_decoding_length=48)
    assert engine.installed_pairs() == {EN_ZH}
    install_package_file(package_files[LanguagePair("en", "es")], packages_dir)
    assert engine.installed_pairs() == {EN_ZH}
    engine.refresh()
    assert engine.installed_pairs() == {EN_ZH, LanguagePair("en", "es")}
    assert engine.translate_batch(LanguagePair("en", "es"), ["Thank you"])[0]


def test_texts_without_letters_skip_the_model(engine):
    assert engine.translate_batch(EN_ZH, ["", "  ", "\ue000", "123 !", "\ue000, \ue001"]) == [
        "",
        "  ",
        "\ue000",
        "123 !",
        "\ue000, \ue001",
    ]
