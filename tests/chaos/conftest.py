"""One chaos stack per module: Azurite on disk (restartable), a dedicated emulator, the host as a process.

Each scenario runs once (module-scoped) and several tests read its result. The results go to a
JSON report the README's reliability table is rendered from: `.work/chaos/reliability.json`, or
the path in CHAOS_REPORT (`make reliability` writes docs/reliability.json).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import AzuriteServer
from tests.chaos.scenarios import (
    SOAK,
    ScenarioRun,
    acs_outage,
    azurite_outage,
    azurite_restart,
    download_faults,
    host_sigkill,
)
from tests.chaos.stack import ChaosStack

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REPORT = REPO / ".work" / "chaos" / "reliability.json"


@pytest.fixture(scope="module")
def chaos_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    workdir = tmp_path_factory.mktemp("chaos")
    azurite = AzuriteServer(workdir / "azurite", access_log=workdir / "azurite-access.log")
    azurite.start()
    emulator = AcsEmulator(file_status_delay=0.5, callback_retry_delays=(0.2,)).start()
    stack = ChaosStack(azurite, emulator, workdir)
    try:
        yield stack
    finally:
        stack.stop_host()
        emulator.stop()
        azurite.stop()


@dataclass
class ChaosReport:
    runs: list[ScenarioRun] = field(default_factory=list)
    secret_scan: dict[str, int] | None = None

    def to_json(self, wall_s: float) -> dict[str, Any]:
        return {
            "generatedAt": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "soak": SOAK,
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "wallSeconds": round(wall_s, 1),
            "scenarios": [run.to_json() for run in self.runs],
            "secretScan": self.secret_scan,
        }


@pytest.fixture(scope="module")
def chaos_report() -> Iterator[ChaosReport]:
    report = ChaosReport()
    started = time.monotonic()
    yield report
    if not report.runs:
        return
    path = Path(os.environ.get("CHAOS_REPORT") or DEFAULT_REPORT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(time.monotonic() - started), indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def fault_run(chaos_stack: ChaosStack, chaos_report: ChaosReport) -> ScenarioRun:
    run = download_faults(chaos_stack)
    chaos_report.runs.append(run)
    return run


@pytest.fixture(scope="module")
def azurite_run(chaos_stack: ChaosStack, chaos_report: ChaosReport) -> ScenarioRun:
    run = azurite_restart(chaos_stack)
    chaos_report.runs.append(run)
    return run


@pytest.fixture(scope="module")
def sigkill_run(chaos_stack: ChaosStack, chaos_report: ChaosReport) -> ScenarioRun:
    run = host_sigkill(chaos_stack)
    chaos_report.runs.append(run)
    return run


@pytest.fixture(scope="module")
def acs_outage_run(chaos_stack: ChaosStack, chaos_report: ChaosReport) -> ScenarioRun:
    run = acs_outage(chaos_stack)
    chaos_report.runs.append(run)
    return run


@pytest.fixture(scope="module")
def azurite_outage_run(chaos_stack: ChaosStack, chaos_report: ChaosReport) -> ScenarioRun:
    run = azurite_outage(chaos_stack)
    chaos_report.runs.append(run)
    return run
