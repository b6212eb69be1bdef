"""Ask the real Python worker's indexer which functions of the app it accepts, one by one.

The local host runs the app in the worker itself (`devtools.pyworker`), whose init fails on the
first function the worker refuses, as on Azure. This runs `devtools.worker_index` (the worker's
own code, `azure-functions-runtime`) in the Python 3.13 venv `make` builds and reports every
refusal and every accepted function's bindings: what tests/unit/test_worker_indexing.py checks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WORKER_PYTHON = REPO / ".venv-worker" / "bin" / "python"


class WorkerRefusedError(Exception):
    """The worker's indexer refuses the app, or could not be run at all."""


@dataclass(frozen=True)
class WorkerIndex:
    """What the worker made of the app: accepted functions with their raw bindings, refusals."""

    functions: dict[str, list[dict[str, Any]]]
    refused: dict[str, str]


def worker_python() -> Path:
    """The interpreter with azure-functions-runtime: `WORKER_PYTHON`, else `.venv-worker`."""
    configured = os.environ.get("WORKER_PYTHON")
    return Path(configured) if configured else DEFAULT_WORKER_PYTHON


def index_with_worker(app_dir: Path = REPO, *, timeout: float = 120.0) -> WorkerIndex:
    """Index `app_dir/function_app.py` with the worker's code; raises if it cannot even index."""
    python = worker_python()
    if not python.exists():
        raise WorkerRefusedError(
            f"the Functions worker's indexer is not installed ({python} is missing): run `make setup`, "
            "or set WORKER_PYTHON to a Python 3.13 with azure-functions-runtime"
        )
    completed = subprocess.run(
        [str(python), "-m", "devtools.worker_index", "--app-dir", str(app_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    try:
        result = json.loads(completed.stdout)
    except json.JSONDecodeError:
        tail = completed.stderr.strip().splitlines()[-5:]
        raise WorkerRefusedError("the worker's indexer crashed: " + " | ".join(tail)) from None
    if result["error"]:
        raise WorkerRefusedError(f"the Python worker cannot index the app: {result['error']}")
    return WorkerIndex(
        functions={entry["name"]: entry["bindings"] for entry in result["functions"]},
        refused={entry["name"]: entry["error"] for entry in result["refused"]},
    )


def require_worker_accepts(app_dir: Path = REPO) -> WorkerIndex:
    """The worker's index of the app; raises with every refusal, as the worker words it."""
    verdict = index_with_worker(app_dir)
    if verdict.refused:
        lines = [f"  {error}" for error in verdict.refused.values()]
        raise WorkerRefusedError(
            f"the Python worker refuses {len(verdict.refused)} of "
            f"{len(verdict.refused) + len(verdict.functions)} functions (Azure would not load them):\n"
            + "\n".join(lines)
        )
    return verdict


if __name__ == "__main__":  # pragma: no cover - a convenience: python -m devtools.devhost.worker_check
    try:
        index = require_worker_accepts()
    except WorkerRefusedError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"The Python worker accepts all {len(index.functions)} functions.")
