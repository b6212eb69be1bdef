"""The probe app behind the local host, and what it noted: for the host's own tests."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devtools.devhost import DevHost
from devtools.pyworker.channel import WorkerProcess

PROBE_APP = Path(__file__).resolve().parent / "probe_app"
KEY = "probe-function-key"
MASTER = "probe-master-key"
ONCE_A_YEAR = "0 0 0 1 1 *"


class Probe:
    def __init__(self, host: DevHost, log: Path) -> None:
        self.host, self.log = host, log

    def notes(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines() if line]
        return [line for line in lines if kind is None or line["kind"] == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(found := self.notes(kind)) < count:
            assert time.monotonic() < deadline, f"{len(found)} of {count} {kind!r} notes after {timeout} s"
            time.sleep(0.05)
        return found


@contextmanager
def probe_host(tmp_path: Path, *, tick: str | None = ONCE_A_YEAR, **settings: str) -> Iterator[Probe]:
    """The probe app in the Python worker, behind the local host (timers running); `tick` is the
    PROBE_TICK setting the `tick` timer's schedule names (None: not set)."""
    log = tmp_path / "probe.jsonl"
    environ = {**os.environ, "PROBE_LOG": str(log), **settings}
    if tick is not None:
        environ["PROBE_TICK"] = tick
    with (
        WorkerProcess(PROBE_APP, environ=environ) as worker,
        DevHost(worker, port=0, function_key=KEY, master_key=MASTER) as host,
    ):
        yield Probe(host, log)
