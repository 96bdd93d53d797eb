"""The engine over installed argos packages: CTranslate2 and SentencePiece, run directly.

argostranslate's own pipeline splits sentences with MiniSBD or stanza (which download
models on first use), translates one text per call, and its decoder turns every `_`
into a space. This engine reads the same package folders but cuts sentences itself
(`translation.segments`), sends every sentence of every text in a batch to ONE
`Translator.translate_batch` call, and decodes with SentencePiece.

Translators are loaded on first use and kept; `refresh()` rescans the packages folder
after an install. Pairs without a direct package go through English (zh→es = zh→en→es).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translation.engine import TranslationEngine, is_placeholder
from translation.errors import NoModelError
from translation.packages import InstalledPackage, installed_packages_by_pair
from translation.pairs import LanguagePair
from translation.segments import Segment, split_message

_WORD_START = "\u2581"  # SentencePiece's mark for a piece that starts a word


@dataclass
class _LoadedModel:
    package: InstalledPackage
    translator: Any  # ctranslate2.Translator
    tokenizer: Any  # sentencepiece.SentencePieceProcessor
    version: str


class ArgosEngine(TranslationEngine):
    """Translates with the argos packages installed in `packages_dir`.

    `inter_threads` is how many batches run at once, `intra_threads` how many cores one
    batch uses (0: CTranslate2 picks). `beam_size` 1 is greedy and fastest.
    `max_decoding_length` caps the output tokens per sentence, further capped at
    `decoding_length_ratio` times the longest input sentence of the batch plus 10.
    `split_at_placeholders=False` feeds placeholders to the model as unknown tokens
    (copied back by `replace_unknowns`), for models trained to keep them in place.
    """

    def __init__(
        self,
        packages_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str = "default",
        inter_threads: int = 1,
        intra_threads: int = 0,
        beam_size: int = 4,
        length_penalty: float = 0.2,
        max_batch_size: int = 64,
        max_decoding_length: int = 256,
        decoding_length_ratio: float | None = 3.0,
        split_at_placeholders: bool = True,
    ) -> None:
        self.packages_dir = Path(packages_dir)
        self.device = device
        self.compute_type = compute_type
        self.inter_threads = inter_threads
        self.intra_threads = intra_threads
        self.beam_size = beam_size
        self.length_penalty = length_penalty
        self.max_batch_size = max_batch_size
        self.max_decoding_length = max_decoding_length
        self.decoding_length_ratio = decoding_length_ratio
        self.split_at_placeholders = split_at_placeholders
        self._lock = threading.Lock()
        self._packages: dict[LanguagePair, InstalledPackage] | None = None
        self._loaded: dict[LanguagePair, _LoadedModel] = {}

    # -- what is installed ------------------------------------------------------------

    def refresh(self) -> None:
        """Rescan the packages folder; models whose package changed are reloaded lazily."""
        packages = installed_packages_by_pair(self.packages_dir)
        with self._lock:
            self._packages = packages
            for pair, loaded in list(self._loaded.items()):
                if packages.get(pair) != loaded.package:
                    del self._loaded[pair]

    def packages(self) -> dict[LanguagePair, InstalledPackage]:
        """The installed package used for each direct pair."""
        if self._packages is None:
            self.refresh()
        assert self._packages is not None
        return dict(self._packages)

    def installed_pairs(self) -> frozenset[LanguagePair]:
        return frozenset(self.packages())

    def model_version(self, pair: LanguagePair) -> str:
        packages = self.packages()
        return "+".join(_package_version(packages[leg]) for leg in self.route(pair))

    # -- translating ------------------------------------------------------------------

    def translate_batch(self, pair: LanguagePair, texts: Sequence[str]) -> list[str]:
        outputs = list(texts)
        for leg in self.route(pair):
            outputs = self._translate_leg(self._model(leg), outputs)
        return outputs

    def _model(self, pair: LanguagePair) -> _LoadedModel:
        with self._lock:
            loaded = self._loaded.get(pair)
            if loaded is not None:
                return loaded
            packages = self._packages if self._packages is not None else {}
            package = packages.get(pair)
            if package is None:
                raise NoModelError(pair, [pair])
            loaded = self._load(package)
            self._loaded[pair] = loaded
            return loaded

    def _load(self, package: InstalledPackage) -> _LoadedModel:
        import ctranslate2
        import sentencepiece

        translator = ctranslate2.Translator(
            str(package.model_dir),
            device=self.device,
            compute_type=self.compute_type,
            inter_threads=self.inter_threads,
            intra_threads=self.intra_threads,
        )
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(package.sentencepiece_path))
        return _LoadedModel(package, translator, tokenizer, _package_version(package))

    def _translate_leg(self, model: _LoadedModel, texts: Sequence[str]) -> list[str]:
        layouts = [
            split_message(text, split_at_placeholders=self.split_at_placeholders) for text in texts
        ]
        sentences = list(dict.fromkeys(s.text for layout in layouts for s in layout if s.translate))
        translated = dict(zip(sentences, self._translate_sentences(model, sentences), strict=True))
        return [_join(layout, translated) for layout in layouts]

    def _translate_sentences(self, model: _LoadedModel, sentences: list[str]) -> list[str]:
        if not sentences:
            return []
        tokens: list[list[str]] = model.tokenizer.encode(sentences, out_type=str)
        prefix = model.package.target_prefix
        target_prefix = [[prefix]] * len(tokens) if prefix else None
        max_length = self.max_decoding_length
        if self.decoding_length_ratio is not None:
            longest = max(len(t) for t in tokens)
            max_length = min(max_length, int(longest * self.decoding_length_ratio) + 10)
        results = model.translator.translate_batch(
            tokens,
            target_prefix=target_prefix,
            beam_size=self.beam_size,
            length_penalty=self.length_penalty,
            max_batch_size=self.max_batch_size,
            max_decoding_length=max_length,
            replace_unknowns=True,
        )
        outputs = []
        for result in results:
            pieces = list(result.hypotheses[0])
            if prefix and pieces[:1] == [prefix]:
                pieces = pieces[1:]
            outputs.append(decode_pieces(model.tokenizer, pieces).strip())
        return outputs


def _package_version(package: InstalledPackage) -> str:
    pair = package.pair
    return f"{pair.source}-{pair.target}@{package.package_version}#{package.fingerprint()}"


def decode_pieces(tokenizer: Any, pieces: list[str]) -> str:
    """SentencePiece decoding that keeps placeholder pieces (unknown to the vocabulary)."""
    text: list[str] = []
    run: list[str] = []

    def flush() -> None:
        decoded = tokenizer.decode_pieces(run)
        if text and run and run[0].startswith(_WORD_START):
            decoded = " " + decoded  # SentencePiece drops the space before a text's start
        text.append(decoded)
        run.clear()

    for piece in pieces:
        bare = piece.lstrip(_WORD_START)
        if bare and all(is_placeholder(char) for char in bare):
            flush()
            text.append(" " * (len(piece) - len(bare)) + bare)
        else:
            run.append(piece)
    flush()
    return "".join(text)


def _join(layout: list[Segment], translated: dict[str, str]) -> str:
    return "".join(translated[s.text] if s.translate else s.text for s in layout)
