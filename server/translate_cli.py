"""`kefu translate ...`: install, list and try translation models from the command line.

Models are argos packages kept in `KEFU_TRANSLATION_MODELS_DIR` (default
`<data dir>/translation-models`). A running server picks up newly installed models
when it restarts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from server.config import Settings
from translation.pairs import LanguagePair


def _models_dir(settings: Settings) -> Path:
    path = settings.resolved_translation_models_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


class ProgressBar:
    """A one-line progress bar on stderr for package downloads."""

    def __init__(self, width: int = 30) -> None:
        self.width = width

    def __call__(self, entry: Any, done: int, total: int | None) -> None:
        name = f"{entry.pair.source}→{entry.pair.target}"
        if total:
            filled = int(self.width * done / total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r{name} [{bar}] {done / 2**20:6.1f}/{total / 2**20:.1f} MiB"
        else:
            line = f"\r{name} {done / 2**20:6.1f} MiB"
        sys.stderr.write(line)
        if total and done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_install(args: argparse.Namespace, settings: Settings) -> int:
    from translation.index import install_from_index
    from translation.packages import install_package_file

    target = _models_dir(settings)
    if args.file:
        installed = [install_package_file(Path(args.file), target)]
    else:
        if not (args.source and args.target):
            print("error: give FROM TO, or --file PATH", file=sys.stderr)
            return 2
        pair = LanguagePair.of(args.source, args.target)
        installed = install_from_index(pair, target, progress=ProgressBar())
        if not installed:
            print(f"{pair.source}→{pair.target} is already installed")
    for package in installed:
        print(f"installed {package.pair.source}→{package.pair.target} {package.package_version}")
    return 0


def cmd_list(_args: argparse.Namespace, settings: Settings) -> int:
    from translation.packages import list_installed_packages

    packages = list_installed_packages(_models_dir(settings))
    if not packages:
        print(f"no models in {settings.resolved_translation_models_dir}")
        print("install one with: kefu translate install en zh")
    for package in packages:
        print(
            f"{package.pair.source}→{package.pair.target}\t{package.package_version}\t"
            f"{package.fingerprint()}\t{package.path}"
        )
    return 0


def cmd_text(args: argparse.Namespace, settings: Settings) -> int:
    from translation.argos import ArgosEngine
    from translation.service import TranslationService

    async def run() -> Any:
        engine = ArgosEngine(_models_dir(settings), beam_size=settings.translation_beam_size)
        async with TranslationService(engine) as service:
            return await service.translate(args.text, args.source, args.target)

    result = asyncio.run(run())
    print(result.text)
    if not result.translated:
        print(f"(untranslated: {result.reason})", file=sys.stderr)
        return 1
    return 0


def add_translate_commands(
    commands: Any, common: argparse.ArgumentParser, settings_of: Any
) -> None:
    def bind(func: Any) -> Any:
        return lambda args: func(args, settings_of(args))

    translate = commands.add_parser("translate", help="translation models").add_subparsers(
        dest="translate_command", required=True
    )
    install = translate.add_parser(
        "install", parents=[common], help="install a model from the Argos index or a file"
    )
    install.add_argument("source", nargs="?", metavar="FROM")
    install.add_argument("target", nargs="?", metavar="TO")
    install.add_argument("--file", help="a .argosmodel file to install instead")
    install.set_defaults(func=bind(cmd_install))

    listing = translate.add_parser("list", parents=[common], help="installed models")
    listing.set_defaults(func=bind(cmd_list))

    text = translate.add_parser("text", parents=[common], help="translate one text")
    text.add_argument("text")
    text.add_argument("--from", dest="source", default=None, help="source (default: detect)")
    text.add_argument("--to", dest="target", required=True)
    text.set_defaults(func=bind(cmd_text))
