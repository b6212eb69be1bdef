"""Index function_app.py with the real Python worker's own code, as Azure does at start.

The Functions host starts the Python worker (`azure-functions-runtime`, Python 3.13+), which
imports `function_app.py`, collects `app.get_functions()` and runs every function through
`Registry.add_indexed_function`: the checks that refuse a function whose parameters or
annotations the worker cannot bind (for example `dict[str, Any]` on an activity input). A
refused function never runs on Azure, however well our local host serves it, so the local host
and the tests ask this module first.

Run it with an interpreter that has `azure-functions-runtime` installed (`make` builds
`.venv-worker` with Python 3.13 for that):

    .venv-worker/bin/python -m devtools.worker_index [--app-dir DIR]

It prints one JSON object: `{"functions": [...], "refused": [...], "error": ...}`, and exits 1
when any function is refused or the app cannot be indexed at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

# The worker receives its protobuf module from the host at init (`request.properties["protos"]`);
# indexing reads only the BindingInfo enum values from it, which the local host's stand-in module
# gives with the numbers of the host's FunctionRpc.proto. Every check that accepts or refuses a
# function is the worker's own code, imported from azure_functions_runtime, not a copy of it.
from devtools.pyworker import protos


def index(app_dir: Path) -> dict[str, Any]:
    """What the worker makes of the app in `app_dir`: accepted functions, refusals, fatal error."""
    try:
        from azure_functions_runtime.bindings.meta import load_binding_registry
        from azure_functions_runtime.functions import Registry
        from azure_functions_runtime.loader import index_function_app
    except ImportError as error:
        return {"functions": [], "refused": [], "error": f"azure-functions-runtime is not installed: {error}"}

    sys.path.insert(0, str(app_dir))
    os.chdir(app_dir)
    try:
        load_binding_registry()  # the worker does this at init, before indexing
        indexed = index_function_app(str(app_dir / "function_app.py"))
    except Exception as error:  # the worker fails its init with this, and the host indexes nothing
        return {"functions": [], "refused": [], "error": f"{type(error).__name__}: {error}"}

    registry = Registry()
    accepted: list[dict[str, Any]] = []
    refused: list[dict[str, str]] = []
    for function in indexed:
        name = function.get_function_name()
        try:
            registry.add_indexed_function(function=function, protos=protos)
        except Exception as error:  # FunctionLoadError, or whatever else the worker raises
            refused.append({"name": name, "error": f"{type(error).__name__}: {error}"})
            continue
        accepted.append({"name": name, "bindings": [json.loads(raw) for raw in function.get_raw_bindings()]})
    return {"functions": accepted, "refused": refused, "error": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args(argv)
    result = index(args.app_dir.resolve())
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0 if result["error"] is None and not result["refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
