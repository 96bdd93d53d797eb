"""Tiny real argos packages, built once per session and installed into each test's folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from translation.argos import ArgosEngine
from translation.packages import install_package_file
from translation.pairs import LanguagePair
from translation.service import TranslationService
from translation.testing import build_package_file

PAIRS = [("en", "zh"), ("zh", "en"), ("en", "es"), ("es", "en")]

Installer = Callable[..., Path]


@pytest.fixture(scope="session")
def package_files(tmp_path_factory: pytest.TempPathFactory) -> dict[LanguagePair, Path]:
    """A `.argosmodel` file per pair of `PAIRS`, each with its own random weights."""
    out_dir = tmp_path_factory.mktemp("argos-files")
    return {
        LanguagePair(s, t): build_package_file(LanguagePair(s, t), out_dir, seed=index)
        for index, (s, t) in enumerate(PAIRS)
    }


@pytest.fixture
def packages_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "packages"
    folder.mkdir()
    return folder


@pytest.fixture
def install(packages_dir: Path, package_files: dict[LanguagePair, Path]) -> Installer:
    """Install the session's packages for the given pairs into this test's folder."""

    def install_pairs(*pairs: tuple[str, str]) -> Path:
        for source, target in pairs or PAIRS:
            install_package_file(package_files[LanguagePair(source, target)], packages_dir)
        return packages_dir

    return install_pairs


@pytest.fixture
def engine(install: Installer) -> ArgosEngine:
    """An engine over en↔zh and en↔es (greedy search, to keep tests quick)."""
    return ArgosEngine(install(), beam_size=1, max_decoding_length=48)


@pytest.fixture
async def service(engine: ArgosEngine) -> AsyncIterator[TranslationService]:
    async with TranslationService(
        engine, candidates=["en", "zh", "es", "de", "ar", "ja", "pt"]
    ) as service:
        yield service
