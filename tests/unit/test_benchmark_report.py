"""benchmarks/README.md quotes the committed archive benchmark run, rendered, never typed."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.report import README, RESULTS, render, rendered_readme


def _committed() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))
    return results


def test_the_benchmark_readme_tables_are_the_rendering_of_the_committed_results() -> None:
    readme = README.read_text(encoding="utf-8")
    assert rendered_readme(readme) == readme


def test_a_missed_target_says_by_how_much() -> None:
    results = {
        "cases": [],
        "targets": [{"target": "ours >= seed", "value": 0.93, "limit": 1.0, "met": False}],
    }
    assert "| ours >= seed | 0.93 | 1.0 | **missed** (by 0.07) |" in render(results)


def test_the_committed_run_measured_the_apps_own_defaults() -> None:
    from shared.archive.transfer import TransferOptions

    ours = [case for case in _committed()["cases"] if case["method"] == "ours"]
    defaults = TransferOptions()
    assert ours
    assert {(case["rangeBytes"], case["inFlight"]) for case in ours} == {
        (defaults.range_bytes, defaults.in_flight)
    }
