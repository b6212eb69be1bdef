"""`GET /api/archive-health`'s window and answer (shared.archive.health), without storage: the catalog is
a stand-in that records what it was asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from shared.archive.health import (
    DEFAULT_WINDOW_HOURS,
    MAX_WINDOW_HOURS,
    OLDEST_LISTED,
    HealthWindow,
    health,
    parse_window,
)
from shared.archive.model import ArchiveSummary
from shared.archive.states import NEEDS_ATTENTION, ArchiveStatus
from shared.errors import QueryError
from shared.recording.catalog import Catalog
from shared.recording.catalog_index import CatalogQuery

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_the_window_is_the_last_24_hours_by_default() -> None:
    window = parse_window({}, NOW)
    assert (window.hours, window.start, window.end) == (DEFAULT_WINDOW_HOURS, NOW - timedelta(hours=24), NOW)


@pytest.mark.parametrize(("raw", "hours"), [("1", 1), ("168", 168), ("007", 7), (" 48 ", 48)])
def test_a_window_of_1_to_168_hours_in_ascii_digits_is_read(raw: str, hours: int) -> None:
    assert parse_window({"hours": raw}, NOW).hours == hours


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "0",
        "169",
        "-1",
        "+1",
        "1.5",
        "1e2",
        "0x10",
        "²",
        "①",
        "٣",
        "\uff11",
        "9" * 5000,
        "0001",
        "24h",
    ],
)
def test_any_other_window_is_a_400_naming_hours(raw: str) -> None:
    with pytest.raises(QueryError) as refused:
        parse_window({"hours": raw}, NOW)
    assert refused.value.target == "hours"
    assert str(MAX_WINDOW_HOURS) in str(refused.value) or "empty" in str(refused.value)


class Recorded:
    """A catalog that answers from fixed figures and keeps every query it was asked."""

    def __init__(self, counts: dict[tuple[str, str, bool], int], listed: dict[str, list[dict[str, Any]]]):
        self.counts, self.listed = counts, listed
        self.queries: list[CatalogQuery] = []
        self.limits: list[int] = []

    def count(self, query: CatalogQuery) -> int:
        self.queries.append(query)
        return self.counts.get((query.kind, query.value, query.start is not None), 0)

    def oldest_in_archive_status(self, status: str, *, limit: int) -> list[dict[str, Any]]:
        self.limits.append(limit)
        return self.listed.get(status, [])


def entry(recording_id: str, summary: ArchiveSummary) -> dict[str, Any]:
    return {
        "recordingId": recording_id,
        "serverCallId": "call-1",
        "createdAt": "2026-12-05T10:00:00+00:00",
        "archive": summary.to_json(),
    }


def test_the_answer_counts_the_window_by_every_archive_status_and_lists_the_oldest_that_need_someone() -> (
    None
):
    retrying = ArchiveSummary(
        ArchiveStatus.RETRYING,
        since="2026-12-05T11:00:00+00:00",
        attempt=3,
        next_attempt_at="2026-12-06T12:05:00+00:00",
        last_error="503 from us-storage.asm.skype.com",
    )
    catalog = Recorded(
        {
            ("time", "", True): 7,
            ("archiveStatus", "Completed", True): 5,
            ("archiveStatus", "Retrying", True): 1,
            ("archiveStatus", "Retrying", False): 2,
        },
        {"Retrying": [entry("r-1", retrying)]},
    )
    answer = health(cast(Catalog, catalog), HealthWindow(24, NOW))
    assert answer["recordings"] == 7
    assert answer["counts"] == {status.value: 0 for status in ArchiveStatus} | {"Completed": 5, "Retrying": 1}
    assert list(answer["attention"]) == [status.value for status in NEEDS_ATTENTION]
    assert answer["attention"]["Retrying"] == {
        "total": 2,
        "oldest": [
            {
                "recordingId": "r-1",
                "serverCallId": "call-1",
                "createdAt": "2026-12-05T10:00:00+00:00",
                "since": "2026-12-05T11:00:00+00:00",
                "attempt": 3,
                "nextAttemptAt": "2026-12-06T12:05:00+00:00",
                "lastError": "503 from us-storage.asm.skype.com",
                "lostChunks": 0,
            }
        ],
    }
    assert answer["window"] == {"hours": 24, "from": "2026-12-05T12:00:00+00:00", "to": NOW.isoformat()}
    assert catalog.limits == [OLDEST_LISTED] * len(NEEDS_ATTENTION)


def test_window_counts_read_the_window_and_attention_totals_read_all_time() -> None:
    catalog = Recorded({}, {})
    health(cast(Catalog, catalog), HealthWindow(6, NOW))
    windowed = [q for q in catalog.queries if q.start is not None]
    assert {(q.start, q.end) for q in windowed} == {(NOW - timedelta(hours=6), NOW)}
    assert sorted(q.value for q in windowed if q.kind == "archiveStatus") == sorted(
        s.value for s in ArchiveStatus
    )
    unbounded = [q for q in catalog.queries if q.start is None]
    assert [(q.kind, q.value, q.end) for q in unbounded] == [
        ("archiveStatus", status.value, None) for status in NEEDS_ATTENTION
    ]
