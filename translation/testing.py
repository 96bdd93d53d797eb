"""Real argos packages built on the spot, with no network: for tests, demos and the bench.

`build_package_file(pair, out_dir)` trains a small SentencePiece model, builds a
CTranslate2 Transformer with random weights, and zips both with `metadata.json` into a
`.argosmodel` with one top-level folder, exactly as the Argos index ships them. The
output is gibberish, but it is deterministic for a seed and goes through every real
step: SentencePiece, CTranslate2 int8 beam search, package install and loading.

`TINY` builds in well under a second. `TRANSFORMER_BASE` (6+6 layers, d=512, 32k
vocabulary) is sized like the real Argos models, for honest benchmark figures: its
vocabulary is the trained pieces padded with made-up ones, which decode fine.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translation.packages import InstalledPackage, install_package_file
from translation.pairs import LanguagePair

LANGUAGE_NAMES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "ja": "Japanese",
    "pt": "Portuguese",
    "zh": "Chinese",
}

SAMPLE_CORPUS = (
    "Where is my order? It has not arrived yet.",
    "Thank you very much for your help!",
    "Your parcel has shipped today, you will get it soon.",
    "Can I return these shoes? They do not fit.",
    "Please send me the tracking number.",
    "The package arrived damaged, I want a refund.",
    "我的订单在哪里？还没有到。",
    "谢谢您的帮助！",
    "您的包裹今天已经发货了。",
    "¿Dónde está mi pedido? Todavía no ha llegado.",
    "Muchas gracias por su ayuda.",
    "Wo ist meine Bestellung? Sie ist noch nicht angekommen.",
    "Vielen Dank für Ihre Hilfe!",
    "أين طلبي؟ لم يصل بعد.",
    "شكرا جزيلا على مساعدتك",
    "注文はどこですか？まだ届いていません。",
    "ありがとうございます。",
    "Onde está o meu pedido? Ainda não chegou.",
    "Muito obrigado pela ajuda!",
)


@dataclass(frozen=True)
class ModelSize:
    """Dimensions of a random-weight Transformer package."""

    encoder_layers: int = 1
    decoder_layers: int = 1
    heads: int = 2
    model_dim: int = 32
    ffn_dim: int = 64
    vocab_size: int = 160


TINY = ModelSize()
TRANSFORMER_BASE = ModelSize(
    encoder_layers=6, decoder_layers=6, heads=8, model_dim=512, ffn_dim=2048, vocab_size=32_000
)


def train_sentencepiece(
    corpus: Iterable[str], vocab_size: int, *, trained_vocab_limit: int = 1000
) -> bytes:
    """A serialized BPE SentencePiece model with exactly `vocab_size` pieces.

    Trains on `corpus` (up to `trained_vocab_limit` pieces, fewer if the corpus is
    small) and pads with made-up pieces, so a large vocabulary needs no large corpus.
    The made-up pieces use letters no chat text has (Latin Extended-B), so they never
    change how real text is tokenized; the model can still output them.
    """
    import sentencepiece

    sentences = list(corpus)
    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        vocab_size=min(vocab_size, trained_vocab_limit),
        model_type="bpe",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    trained = buffer.getvalue()
    processor = sentencepiece.SentencePieceProcessor(model_proto=trained)
    if processor.get_piece_size() == vocab_size:
        return trained
    return _resize_vocabulary(trained, vocab_size)


def _resize_vocabulary(serialized: bytes, vocab_size: int) -> bytes:
    from sentencepiece import sentencepiece_model_pb2

    model = sentencepiece_model_pb2.ModelProto.FromString(serialized)  # type: ignore[attr-defined]
    if len(model.pieces) > vocab_size:
        del model.pieces[vocab_size:]
    existing = {p.piece for p in model.pieces}
    lowest = min(p.score for p in model.pieces if p.type == p.NORMAL)
    letters = "".join(chr(c) for c in range(0x0180, 0x01C0))
    vowels = "".join(chr(c) for c in range(0x01CD, 0x01DD))
    index = 0
    while len(model.pieces) < vocab_size:
        word, n = "", index
        while True:
            word += letters[n % len(letters)] + vowels[(n // len(letters)) % len(vowels)]
            n //= len(letters) * len(vowels)
            if n == 0:
                break
        index += 1
        piece = "\u2581" + word
        if piece in existing:
            continue
        added = model.pieces.add()
        added.piece = piece
        added.score = lowest - 1.0 - index * 1e-4
        added.type = added.NORMAL
    return bytes(model.SerializeToString())


def build_model(
    model_dir: Path,
    vocabulary: Sequence[str],
    *,
    size: ModelSize = TINY,
    seed: int = 0,
    eos_bias: float | None = None,
    quantization: str = "int8",
) -> None:
    """Save a random-weight CTranslate2 Transformer using `vocabulary` on both sides.

    `eos_bias` adds a bias to the end-of-sentence logit so decoding stops after a
    plausible number of tokens rather than running to the length limit.
    """
    import numpy as np
    from ctranslate2.specs import TransformerSpec, model_spec

    rng = np.random.default_rng(seed)
    spec = TransformerSpec.from_config((size.encoder_layers, size.decoder_layers), size.heads)
    dim, ffn, vocab = size.model_dim, size.ffn_dim, len(vocabulary)
    scale = 1.0 / np.sqrt(dim)

    def shape_for(scope: str) -> tuple[int, ...]:
        if scope.endswith(("embeddings/weight", "embeddings_0/weight")):
            return (vocab, dim)
        if scope.endswith("projection/weight"):
            return (vocab, dim)
        if "self_attention/linear_0" in scope:
            return (3 * dim,) if scope.endswith("bias") else (3 * dim, dim)
        if "/attention/linear_1" in scope:
            return (2 * dim,) if scope.endswith("bias") else (2 * dim, dim)
        if "ffn/linear_0" in scope:
            return (ffn,) if scope.endswith("bias") else (ffn, dim)
        if "ffn/linear_1" in scope:
            return (dim,) if scope.endswith("bias") else (dim, ffn)
        if scope.endswith("bias") or scope.endswith(("gamma", "beta")):
            return (dim,)
        return (dim, dim)

    def fill(spec_: Any, scope: str, value: Any) -> None:
        name = scope.rsplit("/", 1)[-1]
        if name not in ("weight", "gamma", "beta", "bias"):
            return
        if name == "bias" and not hasattr(spec_, "weight"):
            return
        shape = shape_for(scope)
        if name == "gamma":
            array = np.ones(shape, dtype=np.float32)
        elif name in ("beta", "bias"):
            array = np.zeros(shape, dtype=np.float32)
        else:
            array = rng.normal(0.0, scale, size=shape).astype(np.float32)
        setattr(spec_, name, array)

    model_spec.visit_spec(spec, fill)
    for linear in (spec.decoder.projection,):
        bias = np.zeros((vocab,), dtype=np.float32)
        if eos_bias is not None:
            bias[list(vocabulary).index("</s>")] = eos_bias
        linear.bias = bias
    spec.register_source_vocabulary(list(vocabulary))
    spec.register_target_vocabulary(list(vocabulary))
    spec.validate()
    spec.optimize(quantization=quantization)
    model_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(model_dir))


def build_package_folder(
    pair: LanguagePair,
    folder: Path,
    *,
    size: ModelSize = TINY,
    seed: int = 0,
    package_version: str = "1.0",
    corpus: Iterable[str] = SAMPLE_CORPUS,
    eos_bias: float | None = None,
) -> Path:
    """Write a complete package folder (metadata, model, SentencePiece) at `folder`."""
    import sentencepiece

    folder.mkdir(parents=True, exist_ok=True)
    serialized = train_sentencepiece(corpus, size.vocab_size)
    (folder / "sentencepiece.model").write_bytes(serialized)
    processor = sentencepiece.SentencePieceProcessor(model_proto=serialized)
    vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    build_model(folder / "model", vocabulary, size=size, seed=seed, eos_bias=eos_bias)
    metadata = {
        "package_version": package_version,
        "argos_version": "1.11",
        "type": "translate",
        "from_code": pair.source,
        "from_name": LANGUAGE_NAMES.get(pair.source, pair.source),
        "to_code": pair.target,
        "to_name": LANGUAGE_NAMES.get(pair.target, pair.target),
    }
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    return folder


def zip_package_folder(folder: Path, out_file: Path) -> Path:
    """Zip a package folder as a `.argosmodel` with the folder as its only top level."""
    with zipfile.ZipFile(out_file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, str(Path(folder.name) / path.relative_to(folder)))
    return out_file


def package_name(pair: LanguagePair, package_version: str = "1.0") -> str:
    """The argospm-style name of a package: `translate-en_zh-1_0`."""
    return f"translate-{pair.source}_{pair.target}-{package_version.replace('.', '_')}"


def build_package_file(
    pair: LanguagePair,
    out_dir: Path,
    *,
    size: ModelSize = TINY,
    seed: int = 0,
    package_version: str = "1.0",
    corpus: Iterable[str] = SAMPLE_CORPUS,
    eos_bias: float | None = None,
) -> Path:
    """Build a `.argosmodel` file for `pair` in `out_dir` and return its path."""
    name = package_name(pair, package_version)
    with tempfile.TemporaryDirectory() as scratch:
        folder = build_package_folder(
            pair,
            Path(scratch) / name,
            size=size,
            seed=seed,
            package_version=package_version,
            corpus=corpus,
            eos_bias=eos_bias,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        return zip_package_folder(folder, out_dir / f"{name}.argosmodel")


def install_test_packages(
    packages_dir: Path,
    pairs: Iterable[tuple[str, str]],
    *,
    size: ModelSize = TINY,
    seed: int = 0,
) -> list[InstalledPackage]:
    """Build and install a package per pair (different seeds) into `packages_dir`."""
    installed = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, (source, target) in enumerate(pairs):
            pair = LanguagePair.of(source, target)
            package_file = build_package_file(pair, Path(scratch), size=size, seed=seed + index)
            installed.append(install_package_file(package_file, packages_dir))
    return installed
