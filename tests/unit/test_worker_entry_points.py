"""The Python worker's internal entry points that the local host calls are where it calls them.

`azure_functions_runtime.native_invocation.invocation_request_native` (and the init functions
beside it) are the worker's own code but not a public API: a new azure-functions-runtime may move
them. The pin keeps them still; these tests fail loudly, naming what moved, when the pin changes
and they do (devtools/pyworker/worker.py, ENTRY_POINTS).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from devtools.pyworker.channel import WorkerProcess, WorkerStartError, worker_python
from devtools.pyworker.worker import ENTRY_POINTS, moved_entry_points

REPO = Path(__file__).resolve().parents[2]


def pinned_runtime() -> str:
    for name in ("requirements.txt", "requirements-worker.txt"):
        text = (REPO / name).read_text(encoding="utf-8")
        found = re.search(r"^azure-functions-runtime==([^;\s]+)", text, re.M)
        if found:
            return found.group(1)
    raise AssertionError("azure-functions-runtime is not pinned")


def test_the_installed_worker_is_the_pinned_one_and_has_every_entry_point() -> None:
    checked = subprocess.run(
        [str(worker_python()), "-m", "devtools.pyworker", "--check", "--app-dir", str(REPO)],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"azure-functions-runtime {pinned_runtime()}: entry points found"


def _fake_runtime(**overrides: Any) -> Any:
    """Modules shaped as ENTRY_POINTS expects, with `overrides` (module -> {name: value or None})."""

    def function_taking(parameters: tuple[str, ...]) -> Any:
        namespace: dict[str, Any] = {}
        exec(f"def entry({', '.join(parameters)}): pass", namespace)  # noqa: S102 - a stub signature
        return namespace["entry"]

    modules: dict[str, SimpleNamespace] = {}
    for module, names in ENTRY_POINTS.items():
        attributes: dict[str, Any] = {}
        for name, parameters in names.items():
            owner, _, attribute = name.rpartition(".")
            value = function_taking(parameters) if parameters is not None else object()
            if owner:
                attributes[owner] = SimpleNamespace(**{attribute: value})
            else:
                attributes[name] = value
        attributes.update(overrides.get(module, {}))
        modules[module] = SimpleNamespace(**{k: v for k, v in attributes.items() if v is not None})
    return modules.__getitem__


def test_the_check_passes_for_the_shape_it_expects() -> None:
    assert moved_entry_points(_fake_runtime()) == []


def test_a_moved_or_changed_entry_point_is_named() -> None:
    def other(a: object, b: object) -> None: ...

    moved = moved_entry_points(
        _fake_runtime(
            **{
                "azure_functions_runtime.native_invocation": {"invocation_request_native": None},
                "azure_functions_runtime.bindings.datumdef": {"datum_as_proto": other},
            }
        )
    )
    assert moved == [
        "azure_functions_runtime.native_invocation.invocation_request_native is gone",
        "azure_functions_runtime.bindings.datumdef.datum_as_proto('datum', 'protos') now takes ('a', 'b')",
    ]


def test_the_local_host_stops_with_the_list_when_the_worker_moved_them(tmp_path: Path) -> None:
    # A sitecustomize that removes the entry point before the worker starts: a runtime that moved it.
    (tmp_path / "sitecustomize.py").write_text(
        "import azure_functions_runtime.native_invocation as n\ndel n.invocation_request_native\n",
        encoding="utf-8",
    )
    worker = WorkerProcess(REPO, environ={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    with pytest.raises(WorkerStartError, match=r"moved the entry points .*invocation_request_native is gone"):
        worker.start()
