"""Outbox rows: an event kept whole (compressed, in binary parts a table row can hold), refused when it
could never be published, and retried with a backoff that never gives up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.events.catalogue import MAX_EVENT_BYTES, Announcement, EventType, cloud_event
from shared.events.outbox import EventTooLargeError, Outbox, backoff, event_of, is_due, outbox_row, row_key

NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)


def event(size: int = 10) -> dict[str, object]:
    announced = Announcement(EventType.ARCHIVE_COMPLETED, NOW.isoformat(), {"blob": "x" * size})
    return cloud_event(announced, recording_id="r", sequence=3, source="/api")


def test_a_row_keeps_the_event_whole_and_sorts_by_sequence() -> None:
    kept = event(300_000)
    row = outbox_row("rec-1", kept, 3)
    assert (row["PartitionKey"], row["RowKey"], row["eventId"], row["attempts"]) == (
        "rec-1",
        row_key(3),
        kept["id"],
        0,
    )
    assert all(len(row[f"event{i}"]) <= 64 * 1024 for i in range(row["parts"]))
    assert event_of(row) == kept
    assert row_key(9) < row_key(10) < row_key(100)


def test_an_event_over_event_grids_limit_is_refused_before_it_is_kept() -> None:
    with pytest.raises(EventTooLargeError):
        outbox_row("rec-1", event(MAX_EVENT_BYTES), 3)


def test_rows_are_numbered_from_the_first_sequence_given() -> None:
    announced = [
        Announcement(EventType.RECORDING_STOPPED, NOW.isoformat()),
        Announcement(EventType.ARCHIVE_STARTED, NOW.isoformat()),
    ]
    rows = Outbox("/api").rows("rec-1", "r", 5, announced)
    assert [row["sequence"] for row in rows] == [5, 6]
    assert [event_of(row)["data"]["sequence"] for row in rows] == [5, 6]


def test_a_failed_publish_waits_longer_each_time_up_to_ten_minutes_and_forever() -> None:
    waits = [backoff(attempt).total_seconds() for attempt in range(1, 12)]
    assert waits[:3] == [15, 30, 60]
    assert waits == sorted(waits)
    assert waits[-1] == 600
    assert backoff(10_000) == timedelta(minutes=10)
    assert is_due({}, NOW)
    assert not is_due({"nextAttemptAt": (NOW + timedelta(seconds=1)).isoformat()}, NOW)
