"""benchmarks/README.md quotes the committed archive benchmark run, rendered, never typed."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.report import README, RESULTS, render, rendered_readme, stale_defaults


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


def _ours_at(range_bytes: int, in_flight: int) -> dict[str, Any]:
    return {"method": "ours", "rangeBytes": range_bytes, "inFlight": in_flight}


def test_a_run_at_the_apps_own_defaults_is_not_flagged_stale() -> None:
    from shared.transfer import TransferOptions

    defaults = TransferOptions()
    assert stale_defaults({"cases": [_ours_at(defaults.range_bytes, defaults.in_flight)]}) is None


def test_a_run_at_other_options_than_the_apps_defaults_is_flagged_stale_naming_both() -> None:
    from shared.transfer import TransferOptions

    defaults = TransferOptions()
    stale = stale_defaults({"cases": [_ours_at(1024 * 1024, defaults.in_flight + 1)]})
    assert stale == (
        f"**Stale:** `ours` was measured at 1 MiB x {defaults.in_flight + 1}; the app now runs"
        f" {defaults.range_bytes // (1024 * 1024)} MiB x {defaults.in_flight}. Re-run"
        " `python -m benchmarks.archive_throughput --full`, then `python -m benchmarks.report`."
    )
