"""`signaling` stands alone: the gateway depends on it, never the reverse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import signaling

MODULES = ["errors", "participants", "state", "registry", "relay", "ice", "frames"]


def test_signaling_imports_no_server_module() -> None:
    code = (
        "import json, sys\n"
        + "".join(f"import signaling.{name}\n" for name in MODULES)
        + "print(json.dumps(sorted(m for m in sys.modules"
        " if m == 'server' or m.startswith('server.'))))"
    )
    root = Path(signaling.__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_every_module_is_listed_in_the_package_docstring() -> None:
    package = Path(signaling.__file__).parent
    found = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    assert found == sorted(MODULES)
    for name in MODULES:
        assert f"`{name}`" in (signaling.__doc__ or "")
