"""Installing packages from the Argos package index (the `argospm` index.json), online.

The index location follows argostranslate: `$ARGOS_PACKAGE_INDEX` (a base URL to which
`index.json` is appended) or argospm's public index. A pair the index has no package
for directly (zh→es) is installed as its legs through English (zh→en, en→es), skipping
legs already installed. Downloads report progress through a callback and are checked
and installed by `translation.packages.install_package_file`. Used by the CLI only:
nothing here runs while the server translates.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from translation.errors import NoModelError, PackageIndexError
from translation.packages import InstalledPackage, install_package_file, installed_packages_by_pair
from translation.pairs import LanguagePair

DEFAULT_INDEX_BASE = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/"


@dataclass(frozen=True)
class IndexEntry:
    """A package the index offers."""

    pair: LanguagePair
    package_version: str
    links: tuple[str, ...]
    from_name: str = ""
    to_name: str = ""


Progress = Callable[[IndexEntry, int, int | None], None]
"""Called as (package, bytes received, total bytes or None) while downloading."""


def package_index_url() -> str:
    """The index.json URL argostranslate would read."""
    base = os.environ.get("ARGOS_PACKAGE_INDEX") or DEFAULT_INDEX_BASE
    return base if base.endswith(".json") else base.rstrip("/") + "/index.json"


def read_package_index(url: str | None = None, *, timeout: float = 30.0) -> list[IndexEntry]:
    """The translate packages listed in the index at `url` (default: `package_index_url`)."""
    url = url or package_index_url()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.load(response)
    except (OSError, ValueError) as exc:
        raise PackageIndexError(f"cannot read the package index at {url}: {exc}") from exc
    if not isinstance(data, list):
        raise PackageIndexError(f"the package index at {url} is not a list")
    entries = []
    for item in data:
        if not isinstance(item, dict) or item.get("type", "translate") != "translate":
            continue
        try:
            pair = LanguagePair.of(str(item["from_code"]), str(item["to_code"]))
        except (KeyError, ValueError):
            continue
        links = tuple(str(link) for link in item.get("links", ()) if link)
        if links:
            entries.append(
                IndexEntry(
                    pair=pair,
                    package_version=str(item.get("package_version", "")),
                    links=links,
                    from_name=str(item.get("from_name", "")),
                    to_name=str(item.get("to_name", "")),
                )
            )
    return entries


def plan_install(
    pair: LanguagePair, entries: Sequence[IndexEntry], installed: Collection[LanguagePair]
) -> list[IndexEntry]:
    """The index packages to install so that `pair` can be translated.

    The direct package when the index has it (even if an older one is installed), else
    the legs through English that are not installed yet. NoModelError when neither.
    """
    by_pair: dict[LanguagePair, IndexEntry] = {}
    for entry in entries:
        if entry.pair not in by_pair or _newer(entry, by_pair[entry.pair]):
            by_pair[entry.pair] = entry
    if pair in by_pair:
        return [by_pair[pair]]
    legs = [LanguagePair(pair.source, "en"), LanguagePair("en", pair.target)]
    if "en" in pair or any(leg not in by_pair and leg not in installed for leg in legs):
        raise NoModelError(pair, [pair] if "en" in pair else legs)
    return [by_pair[leg] for leg in legs if leg not in installed]


def _newer(a: IndexEntry, b: IndexEntry) -> bool:
    def key(entry: IndexEntry) -> tuple[int, ...]:
        return tuple(int(p) if p.isdigit() else -1 for p in entry.package_version.split("."))

    return key(a) > key(b)


def download_package(
    entry: IndexEntry,
    dest_dir: Path,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
    chunk_size: int = 1 << 16,
) -> Path:
    """Download `entry` into `dest_dir` from its first working link; returns the file."""
    errors = []
    for link in entry.links:
        handle, name = tempfile.mkstemp(suffix=".argosmodel", dir=dest_dir)
        path = Path(name)
        try:
            with (
                os.fdopen(handle, "wb") as out,
                urllib.request.urlopen(link, timeout=timeout) as response,
            ):
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                received = 0
                if progress:
                    progress(entry, received, total)
                while block := response.read(chunk_size):
                    out.write(block)
                    received += len(block)
                    if progress:
                        progress(entry, received, total)
            return path
        except OSError as exc:
            path.unlink(missing_ok=True)
            errors.append(f"{link}: {exc}")
    raise PackageIndexError(f"download of {entry.pair} failed: " + "; ".join(errors))


def install_from_index(
    pair: LanguagePair,
    packages_dir: Path,
    *,
    index_url: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> list[InstalledPackage]:
    """Download and install what `pair` needs from the index; returns what was installed."""
    entries = read_package_index(index_url, timeout=timeout)
    installed_pairs = set(installed_packages_by_pair(packages_dir))
    plan = plan_install(pair, entries, installed_pairs)
    packages_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for entry in plan:
        path = download_package(entry, packages_dir.parent, progress=progress, timeout=timeout)
        try:
            installed.append(install_package_file(path, packages_dir, expected_pair=entry.pair))
        finally:
            path.unlink(missing_ok=True)
    return installed
