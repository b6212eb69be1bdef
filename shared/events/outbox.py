"""The outbox: lifecycle events kept in the catalog table until the topic has them (pure row shapes).

A change and the event that reports it are written together or not at all: the catalog writes the
recording's entity (under its ETag) and one row per event in the same entity group transaction,
which Table storage allows within one partition, so the rows live in the recording's partition:

    rec-<hash>  / recording              the entity; `eventSequence` is the last sequence given
    rec-<hash>  / event-0000000001 ...   one row per event: the CloudEvent, compressed, until published
    o-pending   / rec-<hash>             a hint, written just before the transaction: "look here"

The hint lets the retry timer find what is left with one range read instead of a table scan; it is
written first, so no committed event lacks one (a hint with nothing behind it is dropped once it is
old enough: see `STALE_HINT`). A row leaves the table only when the topic accepted its event, so a
crash anywhere costs a redelivery (same id), never an event.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from shared.events.catalogue import MAX_EVENT_BYTES, Announcement, cloud_event, encoded_size

ROW_PREFIX: Final = "event-"
ROW_END: Final = "event."  # just above every `event-...` key (`-` < `.`): the rows are one range
HINT_PARTITION: Final = "o-pending"
SEQUENCE_FIELD: Final = "eventSequence"  # on the recording's entity: the last sequence given out
STALE_HINT: Final = timedelta(minutes=5)  # a hint with no rows is dropped only once this old
_PART_BYTES: Final = 60_000  # Edm.Binary properties hold at most 64 KiB
_MAX_PARTS: Final = 15  # and an entity at most 1 MiB


class EventTooLargeError(ValueError):
    """An event over Event Grid's size limit: a bug in what we put in it, refused before it is kept."""


@dataclass(frozen=True)
class Outbox:
    """What the catalog needs to keep events: the `source` they carry, and who to tell once written."""

    source: str
    on_written: Callable[[str], None] = lambda partition: None

    def rows(
        self, partition: str, recording_id: str, first_sequence: int, announcements: Sequence[Announcement]
    ) -> list[dict[str, Any]]:
        """One row per announcement, numbered from `first_sequence`."""
        return [
            outbox_row(
                partition,
                cloud_event(item, recording_id=recording_id, sequence=sequence, source=self.source),
                sequence,
            )
            for sequence, item in enumerate(announcements, start=first_sequence)
        ]


def row_key(sequence: int) -> str:
    return f"{ROW_PREFIX}{sequence:010d}"


def outbox_row(partition: str, event: dict[str, Any], sequence: int) -> dict[str, Any]:
    """The row that keeps `event` (its JSON, zlib-compressed, in binary parts) until it is published."""
    if encoded_size(event) > MAX_EVENT_BYTES:
        raise EventTooLargeError(f"{event['type']} is over {MAX_EVENT_BYTES} bytes")
    packed = zlib.compress(json.dumps(event, separators=(",", ":")).encode("utf-8"), 6)
    parts = [packed[i : i + _PART_BYTES] for i in range(0, len(packed), _PART_BYTES)]
    if len(parts) > _MAX_PARTS:
        raise EventTooLargeError(f"{event['type']} does not fit one table row")
    return {
        "PartitionKey": partition,
        "RowKey": row_key(sequence),
        "eventId": event["id"],
        "eventType": event["type"],
        "sequence": sequence,
        "attempts": 0,
        "parts": len(parts),
        **{f"event{i}": part for i, part in enumerate(parts)},
    }


def event_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvent a row keeps."""
    packed = b"".join(bytes(row[f"event{i}"]) for i in range(int(row["parts"])))
    event: dict[str, Any] = json.loads(zlib.decompress(packed))
    return event


def hint_row(partition: str, recording_id: str, at: datetime) -> dict[str, Any]:
    """`o-pending / <partition>`: the recording's partition may hold events to publish."""
    return {
        "PartitionKey": HINT_PARTITION,
        "RowKey": partition,
        "recordingId": recording_id,
        "at": at.isoformat(),
    }


def is_due(row: Mapping[str, Any], now: datetime) -> bool:
    """Not waiting out a backoff after a failed publish."""
    after = row.get("nextAttemptAt")
    return not after or datetime.fromisoformat(str(after)) <= now


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed publish: 15 s doubling to 10 minutes, forever (an
    event is never given up: the topic may be down for hours; the timer keeps trying)."""
    return timedelta(seconds=min(15 * 2 ** min(attempts - 1, 10), 600))
