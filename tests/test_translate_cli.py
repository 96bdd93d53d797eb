"""`kefu translate`: install from a file and from an index, list, translate a text.

The index is a local index.json with file:// links: the same code path as the Argos
index online, with no network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from translation.pairs import LanguagePair
from translation.testing import build_package_file


def kefu(
    *args: str, data_dir: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_install_from_file_list_and_translate(tmp_path: Path) -> None:
    package = build_package_file(LanguagePair.of("en", "zh"), tmp_path)
    data = tmp_path / "data"
    empty = kefu("translate", "list", data_dir=data)
    assert empty.returncode == 0 and "no models" in empty.stdout

    installed = kefu("translate", "install", "--file", str(package), data_dir=data)
    assert installed.returncode == 0, installed.stderr
    assert "installed en→zh 1.0" in installed.stdout
    assert (data / "translation-models").is_dir()

    listed = kefu("translate", "list", data_dir=data)
    assert listed.stdout.startswith("en→zh\t1.0\t")

    done = kefu(
        "translate", "text", "Where is my order?", "--from", "en", "--to", "zh", data_dir=data
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and done.stdout.strip() != "Where is my order?"

    missing = kefu("translate", "text", "Hola amigo", "--from", "es", "--to", "zh", data_dir=data)
    assert missing.returncode == 1
    assert missing.stdout.strip() == "Hola amigo"  # the original, never nothing
    assert "untranslated" in missing.stderr


def test_install_from_an_index_pivots_through_english(tmp_path: Path) -> None:
    files = [
        build_package_file(LanguagePair.of(s, t), tmp_path / f"{s}{t}", seed=i)
        for i, (s, t) in enumerate([("es", "en"), ("en", "zh")])
    ]
    index = tmp_path / "index.json"
    index.write_text(
        json.dumps(
            [
                {
                    "type": "translate",
                    "from_code": s,
                    "to_code": t,
                    "package_version": "1.0",
                    "links": [path.as_uri()],
                }
                for (s, t), path in zip([("es", "en"), ("en", "zh")], files, strict=True)
            ]
        )
    )
    data = tmp_path / "data"
    result = kefu(
        "translate",
        "install",
        "es",
        "zh",
        data_dir=data,
        env={"ARGOS_PACKAGE_INDEX": index.as_uri()},
    )
    assert result.returncode == 0, result.stderr
    assert "installed es→en" in result.stdout and "installed en→zh" in result.stdout
    assert "[" in result.stderr  # the progress bar was drawn
    pivot = kefu(
        "translate", "text", "¿Dónde está mi pedido?", "--from", "es", "--to", "zh", data_dir=data
    )
    assert pivot.returncode == 0, pivot.stderr

    unreachable = kefu(
        "translate",
        "install",
        "de",
        "zh",
        data_dir=data,
        env={"ARGOS_PACKAGE_INDEX": (tmp_path / "nowhere.json").as_uri()},
    )
    assert unreachable.returncode == 1 and "error:" in unreachable.stderr
