"""Installing argos package files: the happy path, the listing, and refused archives."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from translation.errors import PackageError
from translation.packages import (
    default_packages_dir,
    install_package_file,
    list_installed_packages,
    read_package,
    remove_package,
)
from translation.pairs import LanguagePair
from translation.testing import build_package_file

EN_ZH = LanguagePair("en", "zh")


def rewrite_archive(source: Path, target: Path, edit) -> Path:
    """Copy a package zip, letting `edit(name, data)` return [(name, data), ...] per entry."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            for name, data in edit(info.filename, original.read(info)):
                copy.writestr(name, data)
    return target


def test_install_from_file_lists_the_package(package_files, packages_dir):
    installed = install_package_file(package_files[EN_ZH], packages_dir)

    assert installed.pair == EN_ZH
    assert installed.path == packages_dir / "translate-en_zh-1_0"
    assert (installed.path / "model" / "model.bin").is_file()
    assert [p.pair for p in list_installed_packages(packages_dir)] == [EN_ZH]
    assert read_package(installed.path).package_version == "1.0"
    assert len(installed.fingerprint()) == 12


def test_installing_the_same_pair_again_replaces_it(tmp_path, packages_dir):
    first = build_package_file(EN_ZH, tmp_path / "a", seed=1, package_version="1.0")
    second = build_package_file(EN_ZH, tmp_path / "b", seed=2, package_version="1.1")
    old = install_package_file(first, packages_dir)
    old_fingerprint = old.fingerprint()
    new = install_package_file(second, packages_dir)

    assert [p.package_version for p in list_installed_packages(packages_dir)] == ["1.1"]
    assert not old.path.exists()
    assert new.fingerprint() != old_fingerprint


def test_remove_package(package_files, packages_dir):
    install_package_file(package_files[EN_ZH], packages_dir)
    assert remove_package(packages_dir, EN_ZH)
    assert list_installed_packages(packages_dir) == []
    assert not remove_package(packages_dir, EN_ZH)


def test_argostranslate_sees_installed_packages(package_files, packages_dir, tmp_path):
    """Same folder layout as argostranslate: its own listing finds our install."""
    install_package_file(package_files[EN_ZH], packages_dir)
    env = {
        **os.environ,
        "ARGOS_PACKAGES_DIR": str(packages_dir),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    script = (
        "import argostranslate.package as p\n"
        "print([(x.from_code, x.to_code, x.package_version) "
        "for x in p.get_installed_packages()])"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[('en', 'zh', '1.0')]"


def test_default_packages_dir_follows_argostranslate(monkeypatch, tmp_path):
    monkeypatch.setenv("ARGOS_PACKAGES_DIR", str(tmp_path / "pk"))
    assert default_packages_dir() == tmp_path / "pk"
    monkeypatch.delenv("ARGOS_PACKAGES_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_packages_dir() == tmp_path / "xdg" / "argos-translate" / "packages"


def _traversal(name, data):
    yield name, data
    if name.endswith("metadata.json"):
        yield "translate-en_zh-1_0/../../evil.txt", b"owned"


def _absolute(name, data):
    yield name, data
    if name.endswith("metadata.json"):
        yield "/tmp/kefu-evil.txt", b"owned"


def _second_top_level(name, data):
    yield name, data
    if name.endswith("metadata.json"):
        yield "other/readme.txt", b"hi"


def _no_metadata(name, data):
    if not name.endswith("metadata.json"):
        yield name, data


def _no_weights(name, data):
    if not name.endswith("model.bin"):
        yield name, data


def _metadata(**changes):
    def edit(name, data):
        if name.endswith("metadata.json"):
            metadata = json.loads(data)
            metadata.update(changes)
            data = json.dumps(metadata).encode()
        yield name, data

    return edit


def _broken_json(name, data):
    yield name, (b"{not json" if name.endswith("metadata.json") else data)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_traversal, "unsafe path"),
        (_absolute, "unsafe path"),
        (_second_top_level, "one top-level folder"),
        (_no_metadata, "no metadata.json"),
        (_no_weights, "no model/model.bin"),
        (_metadata(type="sbd"), "expected 'translate'"),
        (_metadata(from_code=""), "no from_code"),
        (_metadata(to_code="../x"), "not a language code"),
        (_broken_json, "not valid JSON"),
    ],
)
def test_bad_archives_are_refused_and_leave_nothing(
    package_files, packages_dir, tmp_path, edit, message
):
    bad = rewrite_archive(package_files[EN_ZH], tmp_path / "bad.argosmodel", edit)
    with pytest.raises(PackageError, match=message):
        install_package_file(bad, packages_dir)
    assert list(packages_dir.iterdir()) == []
    assert [p.name for p in packages_dir.parent.iterdir() if p.name.startswith(".kefu")] == []
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_member_is_refused(package_files, packages_dir, tmp_path):
    bad = tmp_path / "link.argosmodel"
    rewrite_archive(package_files[EN_ZH], bad, lambda name, data: [(name, data)])
    with zipfile.ZipFile(bad, "a") as archive:
        link = zipfile.ZipInfo("translate-en_zh-1_0/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(PackageError, match="link"):
        install_package_file(bad, packages_dir)
    assert list(packages_dir.iterdir()) == []


def test_not_a_zip_and_size_limits_are_refused(package_files, packages_dir, tmp_path):
    text = tmp_path / "notes.argosmodel"
    text.write_text("hello")
    with pytest.raises(PackageError, match="not a zip"):
        install_package_file(text, packages_dir)
    with pytest.raises(PackageError, match="unpacks to"):
        install_package_file(package_files[EN_ZH], packages_dir, max_unpacked_bytes=1000)
    with pytest.raises(PackageError, match="entries"):
        install_package_file(package_files[EN_ZH], packages_dir, max_members=2)
    with pytest.raises(PackageError, match="expected es→en"):
        install_package_file(
            package_files[EN_ZH], packages_dir, expected_pair=LanguagePair("es", "en")
        )
    assert list(packages_dir.iterdir()) == []


def test_listing_skips_folders_that_are_not_translate_packages(package_files, packages_dir):
    install_package_file(package_files[EN_ZH], packages_dir)
    (packages_dir / "leftover").mkdir()
    sbd = packages_dir / "sbd-package"
    sbd.mkdir()
    (sbd / "metadata.json").write_text(json.dumps({"type": "sbd", "from_code": "en"}))
    assert [p.pair for p in list_installed_packages(packages_dir)] == [EN_ZH]
