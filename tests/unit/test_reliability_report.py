"""The README's reliability table is the rendering of the committed chaos run, never typed by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.reliability_report import BEGIN, END, README, REPORT, render, replace_table


def _committed() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(REPORT.read_text(encoding="utf-8"))
    return report


def test_the_readme_table_is_the_rendering_of_the_committed_chaos_run() -> None:
    readme = README.read_text(encoding="utf-8")
    assert replace_table(readme, render(_committed())) == readme


def test_the_committed_chaos_run_passed_every_scenario_over_at_least_ten_recordings() -> None:
    scenarios = _committed()["scenarios"]
    assert [s["result"].split(":")[0] for s in scenarios] == ["pass"] * len(scenarios)
    assert sum(s["recordings"] for s in scenarios) >= 10


def test_a_row_shows_the_scenario_size_faults_result_and_seed() -> None:
    scenario = {
        "scenario": "download faults (20 %)",
        "recordings": 7,
        "chunks": 36,
        "bytes": 2_305_584,
        "chunkBytes": 65_536,
        "faultsInjected": {"500": 2, "reset mid-body": 1},
        "faultsObserved": {"downloadRequests": 95, "retriedDownloads": 12, "faultedShare": 0.212},
        "result": "pass: 6/6 recordings archived once",
        "seed": 42,
        "wallSeconds": 36.0,
    }
    report = {
        "scenarios": [scenario],
        "soak": False,
        "generatedAt": "t",
        "cores": 2,
        "python": "3.11",
        "wallSeconds": 80,
    }
    row = render(report).splitlines()[2]
    assert row == (
        "| download faults (20 %) | 7 recordings x 36 chunks of ≤ 64 KiB (2.3 MB) "
        "| 500 x2, reset mid-body x1; observed: 12 of 95 downloads retried, 21.2% of requests faulted "
        "| pass: 6/6 recordings archived once | 42 | 36 s |"
    )


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_table("# no table here\n", "| a |")


def test_only_the_text_between_the_markers_is_replaced() -> None:
    readme = f"before\n{BEGIN}\nold table\n{END}\nafter\n"
    assert replace_table(readme, "new table") == f"before\n{BEGIN}\nnew table\n{END}\nafter\n"
