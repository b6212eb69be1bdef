"""Loading the app imports no storage, Event Grid or telemetry SDK: every cold start pays for what the
app imports, and these are needed only once a function runs (each is imported where it is used). A
timer's module importing one at its top once added about 85 ms of a 500 ms import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOADED_ON_FIRST_USE = ("azure.storage.blob", "azure.data.tables", "azure.eventgrid", "azure.monitor")


def test_importing_the_app_leaves_the_heavy_sdks_for_first_use() -> None:
    probe = (
        "import json, sys, function_app; "
        f"print(json.dumps([m for m in {list(LOADED_ON_FIRST_USE)!r} if m in sys.modules]))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(found.stdout) == []
