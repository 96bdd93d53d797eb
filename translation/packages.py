"""Argos translate packages on disk: reading them, installing them safely, listing them.

A package file (`.argosmodel`) is a zip archive with ONE top-level folder holding
`metadata.json`, `model/` (a CTranslate2 model) and `sentencepiece.model`. Installed
packages are folders directly inside the packages folder, exactly where
`argostranslate` puts them (`ARGOS_PACKAGES_DIR`, by default
`$XDG_DATA_HOME/argos-translate/packages`), so both see the same models.

`argostranslate.package.install_from_path` extracts whatever the zip holds; here a
package file is checked first (paths, links, sizes, metadata, model files) and unpacked
beside the packages folder, so a bad file never leaves anything behind in it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from translation.errors import PackageError
from translation.pairs import LanguagePair

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
MODEL_DIR = "model"
MODEL_WEIGHTS_FILE = "model/model.bin"
SENTENCEPIECE_FILE = "sentencepiece.model"
PACKAGE_SUFFIX = ".argosmodel"


def default_packages_dir() -> Path:
    """The folder argostranslate reads packages from, honouring its environment variables."""
    configured = os.environ.get("ARGOS_PACKAGES_DIR")
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "argos-translate" / "packages"


@dataclass(frozen=True)
class InstalledPackage:
    """An installed translate package: its folder and what its metadata says."""

    path: Path
    pair: LanguagePair
    package_version: str
    argos_version: str = ""
    from_name: str = ""
    to_name: str = ""
    target_prefix: str = ""

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL_DIR

    @property
    def sentencepiece_path(self) -> Path:
        return self.path / SENTENCEPIECE_FILE

    def fingerprint(self) -> str:
        """First 12 hex digits of the SHA-256 of the model weights (once per file state)."""
        weights = self.path / MODEL_WEIGHTS_FILE
        status = weights.stat()
        return _weights_digest(str(weights), status.st_mtime_ns, status.st_size)

    @property
    def version_key(self) -> tuple[tuple[int, ...], str]:
        """Sort key: numeric package version first, the raw string to break ties."""
        numbers = []
        for part in self.package_version.split("."):
            numbers.append(int(part) if part.isdigit() else -1)
        return tuple(numbers), self.package_version


@functools.lru_cache(maxsize=256)
def _weights_digest(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as weights:
        for chunk in iter(lambda: weights.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def parse_metadata(raw: bytes, where: str) -> dict[str, Any]:
    """The metadata of a translate package, checked; PackageError says what is wrong."""
    try:
        metadata = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{where}: {METADATA_FILE} is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise PackageError(f"{where}: {METADATA_FILE} must hold a JSON object")
    package_type = metadata.get("type", "translate")
    if package_type != "translate":
        raise PackageError(f"{where}: package type is {package_type!r}, expected 'translate'")
    for key in ("from_code", "to_code"):
        value = metadata.get(key)
        if not isinstance(value, str) or not value:
            raise PackageError(f"{where}: {METADATA_FILE} has no {key}")
    try:
        LanguagePair.of(metadata["from_code"], metadata["to_code"])
    except ValueError as exc:
        raise PackageError(f"{where}: {exc}") from None
    for key in ("package_version", "argos_version", "from_name", "to_name", "target_prefix"):
        if not isinstance(metadata.get(key, ""), str):
            raise PackageError(f"{where}: {key} in {METADATA_FILE} must be a string")
    return metadata


def read_package(folder: Path) -> InstalledPackage:
    """The installed package in `folder`; PackageError when it is not a usable one."""
    metadata_path = folder / METADATA_FILE
    if not metadata_path.is_file():
        raise PackageError(f"{folder}: no {METADATA_FILE}")
    metadata = parse_metadata(metadata_path.read_bytes(), str(folder))
    for required in (MODEL_WEIGHTS_FILE, SENTENCEPIECE_FILE):
        if not (folder / required).is_file():
            raise PackageError(f"{folder}: no {required}")
    return InstalledPackage(
        path=folder,
        pair=LanguagePair.of(metadata["from_code"], metadata["to_code"]),
        package_version=metadata.get("package_version", ""),
        argos_version=metadata.get("argos_version", ""),
        from_name=metadata.get("from_name", ""),
        to_name=metadata.get("to_name", ""),
        target_prefix=metadata.get("target_prefix", ""),
    )


def list_installed_packages(packages_dir: Path) -> list[InstalledPackage]:
    """Every usable translate package in `packages_dir`, newest version first per pair.

    Folders that are not translate packages (sentence-boundary packages, leftovers) are
    skipped with a log line rather than failing the whole listing.
    """
    if not packages_dir.is_dir():
        return []
    found = []
    for folder in sorted(packages_dir.iterdir()):
        if not folder.is_dir():
            continue
        try:
            found.append(read_package(folder))
        except PackageError as exc:
            log.info("skipping %s: %s", folder, exc)
    found.sort(key=lambda p: p.version_key, reverse=True)
    found.sort(key=lambda p: p.pair)
    return found


def installed_packages_by_pair(packages_dir: Path) -> dict[LanguagePair, InstalledPackage]:
    """The newest installed package for each pair."""
    by_pair: dict[LanguagePair, InstalledPackage] = {}
    for package in list_installed_packages(packages_dir):
        by_pair.setdefault(package.pair, package)
    return by_pair


def check_package_archive(
    archive: zipfile.ZipFile,
    where: str,
    *,
    max_unpacked_bytes: int | None = 4 * 2**30,
    max_members: int | None = 10_000,
) -> tuple[str, dict[str, Any]]:
    """Check a package zip without extracting it; returns (top folder, metadata).

    Refuses absolute paths, `..`, backslashes, links, more than one top-level folder,
    anything outside it, archives above the size or member limits (`None` lifts a
    limit), and packages without valid metadata, model weights or SentencePiece model.
    """
    members = archive.infolist()
    if max_members is not None and len(members) > max_members:
        raise PackageError(f"{where}: {len(members)} entries, more than {max_members}")
    unpacked = sum(member.file_size for member in members)
    if max_unpacked_bytes is not None and unpacked > max_unpacked_bytes:
        raise PackageError(f"{where}: unpacks to {unpacked} bytes, over {max_unpacked_bytes}")
    tops = set()
    names = set()
    for member in members:
        name = member.filename
        path = PurePosixPath(name)
        if (
            not name
            or "\\" in name
            or name.startswith("/")
            or ":" in path.parts[0]
            or any(part in ("", ".", "..") for part in name.rstrip("/").split("/"))
        ):
            raise PackageError(f"{where}: unsafe path in archive: {name!r}")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise PackageError(f"{where}: archive holds a link: {name!r}")
        if len(path.parts) == 1 and not member.is_dir():
            raise PackageError(f"{where}: file outside the package folder: {name!r}")
        tops.add(path.parts[0])
        names.add(name.rstrip("/"))
    if len(tops) != 1:
        found = ", ".join(sorted(tops)) or "none"
        raise PackageError(f"{where}: expected one top-level folder, found {found}")
    top = tops.pop()
    metadata_name = f"{top}/{METADATA_FILE}"
    if metadata_name not in names:
        raise PackageError(f"{where}: no {METADATA_FILE} in {top}/")
    metadata = parse_metadata(archive.read(metadata_name), where)
    for required in (MODEL_WEIGHTS_FILE, SENTENCEPIECE_FILE):
        if f"{top}/{required}" not in names:
            raise PackageError(f"{where}: no {required} in {top}/")
    return top, metadata


def install_package_file(
    path: Path,
    packages_dir: Path,
    *,
    max_unpacked_bytes: int | None = 4 * 2**30,
    max_members: int | None = 10_000,
    expected_pair: LanguagePair | None = None,
) -> InstalledPackage:
    """Install a `.argosmodel` file into `packages_dir` after checking it.

    The archive is unpacked into a scratch folder beside `packages_dir` and moved in
    only once complete. Installed packages for the same pair are replaced. With
    `expected_pair`, a package for another pair is refused.
    """
    where = str(path)
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{where}: not a zip archive")
    packages_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".kefu-install-", dir=packages_dir.parent))
    try:
        with zipfile.ZipFile(path) as archive:
            top, _ = check_package_archive(
                archive, where, max_unpacked_bytes=max_unpacked_bytes, max_members=max_members
            )
            archive.extractall(scratch)
        unpacked = read_package(scratch / top)
        if expected_pair is not None and unpacked.pair != expected_pair:
            raise PackageError(f"{where}: holds {unpacked.pair}, expected {expected_pair}")
        for old in list_installed_packages(packages_dir):
            if old.pair == unpacked.pair or old.path.name == top:
                shutil.rmtree(old.path)
        destination = packages_dir / top
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(scratch / top, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    installed = read_package(destination)
    log.info("installed %s %s from %s", installed.pair, installed.package_version, path)
    return installed


def remove_package(packages_dir: Path, pair: LanguagePair) -> bool:
    """Delete every installed package for `pair`; True when one was removed."""
    removed = False
    for package in list_installed_packages(packages_dir):
        if package.pair == pair:
            shutil.rmtree(package.path)
            removed = True
    return removed
