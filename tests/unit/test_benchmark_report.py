"""benchmarks/README.md quotes the committed archive benchmark run, rendered, never typed."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.report import (
    README,
    RESULTS,
    fanout_targets,
    render,
    render_catalog_scale,
    rendered_readme,
    stale_defaults,
    stale_fanout,
)


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
    from shared.archive.transfer import TransferOptions

    defaults = TransferOptions()
    assert stale_defaults({"cases": [_ours_at(defaults.range_bytes, defaults.in_flight)]}) is None


def test_a_run_at_other_options_than_the_apps_defaults_is_flagged_stale_naming_both() -> None:
    from shared.archive.transfer import TransferOptions

    defaults = TransferOptions()
    stale = stale_defaults({"cases": [_ours_at(1024 * 1024, defaults.in_flight + 1)]})
    assert stale == (
        f"**Stale:** `ours` was measured at 1 MiB x {defaults.in_flight + 1}; the app now runs"
        f" {defaults.range_bytes // (1024 * 1024)} MiB x {defaults.in_flight}. Re-run"
        " `python -m benchmarks.archive_throughput --full`, then `python -m benchmarks.report`."
    )


def _fanout(ms_per_chunk: dict[int, float]) -> dict[str, Any]:
    return {"cases": [{"recordings": 1, "chunksEach": n, "msPerChunk": ms} for n, ms in ms_per_chunk.items()]}


def test_a_fan_out_whose_cost_per_chunk_grows_with_the_chunk_count_misses_the_linear_target() -> None:
    (target,) = fanout_targets(_fanout({1: 130.0, 32: 40.0, 256: 70.0}))
    assert (target["value"], target["met"]) == (1.75, False)


def test_a_fan_out_as_cheap_per_chunk_at_256_as_at_32_meets_the_linear_target() -> None:
    (target,) = fanout_targets(_fanout({32: 42.5, 256: 37.6}))
    assert (target["value"], target["met"]) == (0.88, True)


def test_a_fan_out_measured_with_another_batch_shape_than_the_codes_is_flagged_stale() -> None:
    from shared.archive.orchestration import BATCH_CHUNKS, BATCHES_AT_ONCE

    current = {"batchChunks": BATCH_CHUNKS, "batchesAtOnce": BATCHES_AT_ONCE}
    assert stale_fanout(current) is None
    assert "waves only" in str(stale_fanout({}))
    assert f"batches of {BATCH_CHUNKS + 1} x" in str(
        stale_fanout({**current, "batchChunks": BATCH_CHUNKS + 1})
    )


def _scale_case(recordings: int, per_kind: int, reads: int, seconds: float) -> dict[str, Any]:
    counted = {"query": 15, "read": reads, "write": 0}
    return {
        "recordings": recordings,
        "candidatesPerKind": per_kind,
        "azurite": {"queryMs": 2.0, "readMs": 1.5},
        "runs": [{}, {}],
        "health": {"seconds": seconds, "requests": counted, "requestsVaried": False},
        "watch": {
            "seconds": seconds * 10,
            "requests": {"query": 2, "read": reads * 4, "write": 8 * per_kind},
            "requestsVaried": recordings == 100_000,
            "overdue": per_kind,
            "stopsNoticed": min(per_kind, 20),
        },
    }


def test_the_catalog_scale_tables_show_requests_and_seconds_per_catalog_size_and_per_candidate_count() -> (
    None
):
    results = {
        "mode": "full",
        "machine": {"cores": 2, "python": "3.11.7"},
        "threads": 4,
        "kinds": ["due", "unseen"],
        "seeding": [
            {
                "from": 0,
                "to": 100_000,
                "entities": 100_000,
                "indexRows": 500_000,
                "transactions": 5_012,
                "seconds": 812.4,
            }
        ],
        "sizes": [_scale_case(0, 20, 30, 0.1), _scale_case(100_000, 20, 30, 0.9)],
        "candidates": [_scale_case(100_000, 50, 30, 1.0)],
    }
    rendered = render_catalog_scale(results)
    assert "| 0 -> 100,000 | 100,000 | 500,000 | 5,012 | 812.4 |" in rendered
    assert "| 100,000 | 15 / 30 / 0 | 0.900 | 2 / 120 / 160 | 9.000 | 2.0 / 1.5 ms |" in rendered
    assert "| 50 | 15 / 30 / 0 | 1.000 | 2 / 120 / 400 | 10.000 | 50 / 20 |" in rendered
    assert "median of 2 runs" in rendered
    assert "Requests differed between the runs of: 100,000 x 20 (watch), 100,000 x 50 (watch)" in rendered
