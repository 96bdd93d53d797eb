"""Installing from an Argos package index, here a local one (file:// URLs, no network)."""

from __future__ import annotations

import json

import pytest

from translation.errors import NoModelError, PackageIndexError
from translation.index import (
    install_from_index,
    package_index_url,
    plan_install,
    read_package_index,
)
from translation.packages import list_installed_packages
from translation.pairs import LanguagePair


@pytest.fixture
def index_url(tmp_path, package_files):
    entries = [
        {
            "type": "translate",
            "from_code": pair.source,
            "to_code": pair.target,
            "package_version": "1.0",
            "links": [path.as_uri()],
        }
        for pair, path in package_files.items()
    ]
    entries.append({"type": "sbd", "from_code": "en", "links": ["file:///nowhere"]})
    index = tmp_path / "index.json"
    index.write_text(json.dumps(entries))
    return index.as_uri()


def test_install_a_direct_pair_with_progress(index_url, packages_dir):
    progress = []
    installed = install_from_index(
        LanguagePair("en", "zh"),
        packages_dir,
        index_url=index_url,
        progress=lambda entry, done, total: progress.append((entry.pair, done, total)),
    )

    assert [p.pair for p in installed] == [LanguagePair("en", "zh")]
    assert [p.pair for p in list_installed_packages(packages_dir)] == [LanguagePair("en", "zh")]
    assert progress[0][1] == 0
    assert progress[-1][1] == progress[-1][2] > 0
    assert [p.name for p in packages_dir.parent.iterdir() if p.suffix == ".argosmodel"] == []


def test_a_pair_without_a_package_installs_its_legs_through_english(index_url, packages_dir):
    install_from_index(LanguagePair("en", "es"), packages_dir, index_url=index_url)
    installed = install_from_index(LanguagePair("zh", "es"), packages_dir, index_url=index_url)
    assert [p.pair for p in installed] == [LanguagePair("zh", "en")]


def test_plan_refuses_what_the_index_cannot_provide(index_url):
    entries = read_package_index(index_url)
    with pytest.raises(NoModelError) as no_leg:
        plan_install(LanguagePair("zh", "de"), entries, installed=set())
    assert no_leg.value.missing == (LanguagePair("zh", "en"), LanguagePair("en", "de"))
    with pytest.raises(NoModelError):
        plan_install(LanguagePair("en", "de"), entries, installed=set())


def test_unreadable_index_and_broken_links(tmp_path, packages_dir):
    with pytest.raises(PackageIndexError, match="cannot read"):
        read_package_index((tmp_path / "missing.json").as_uri())
    index = tmp_path / "index.json"
    index.write_text(
        json.dumps([{"from_code": "en", "to_code": "zh", "links": [(tmp_path / "x").as_uri()]}])
    )
    with pytest.raises(PackageIndexError, match="download of en→zh failed"):
        install_from_index(LanguagePair("en", "zh"), packages_dir, index_url=index.as_uri())
    assert list(packages_dir.iterdir()) == []


def test_index_url_follows_argostranslate(monkeypatch):
    monkeypatch.setenv("ARGOS_PACKAGE_INDEX", "https://mirror.example/argos/")
    assert package_index_url() == "https://mirror.example/argos/index.json"
    monkeypatch.delenv("ARGOS_PACKAGE_INDEX")
    assert package_index_url().endswith("/argospm-index/main/index.json")
