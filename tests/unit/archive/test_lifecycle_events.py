"""Which events a status change makes (pure): one per change, none for a repeated write, in order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.archive.lifecycle_events import announcements, fitted_files
from shared.archive.model import ArchivedChunk, ArchiveSummary, Manifest, Unverified
from shared.archive.states import ArchiveStatus as S
from shared.events.catalogue import MAX_EVENT_BYTES, cloud_event
from shared.events.catalogue import EventType as E
from tests.support.lifecycle import schema_problems

T0, T1 = "2026-12-03T10:00:00+00:00", "2026-12-03T10:05:00+00:00"
RECORDING = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxIn0"


def summary(status: S, since: str = T1, **fields: object) -> ArchiveSummary:
    return ArchiveSummary(status, since, **fields)  # type: ignore[arg-type]


def chunk(index: int, *, deleted: bool = False) -> ArchivedChunk:
    return ArchivedChunk(
        index, f"0-eus-d{index}", f"2026/12/03/k/{index:03d}-doc.wav",
        f"2026/12/03/k/{index:03d}-doc.metadata.json",
        1000 + index, "ab" * 32, "audio/wav", "SessionEnded", "https://us-storage.asm.skype.com/v1/objects/x",
        source_deleted=deleted, duration_ms=30_000,
    )  # fmt: skip


def manifest(status: S, chunks: tuple[ArchivedChunk, ...] = (chunk(0),), **fields: object) -> Manifest:
    base = Manifest(
        recording_id=RECORDING, recording_key="k", server_call_id="c", instance_id="archive-k", status=status,
        event_id="e", event_time=T0, recording_start_time=T0, recording_duration_ms=30_000,
        session_end_reason="SessionEnded", recorded_at=T1, prefix="2026/12/03/k", chunks_expected=len(chunks),
        chunks=chunks, source_deletion="notRequested", errors=(),
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def types(found: list[object]) -> list[E]:
    return [item.type for item in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, summary(S.AWAITING_FILES), [E.RECORDING_STOPPED]),
        (None, summary(S.ARCHIVING), [E.RECORDING_STOPPED, E.ARCHIVE_STARTED]),
        (summary(S.AWAITING_FILES, T0), summary(S.OVERDUE), [E.ARCHIVE_OVERDUE]),
        (summary(S.OVERDUE, T0), summary(S.ARCHIVING), [E.ARCHIVE_STARTED]),
        (summary(S.LOST, T0), summary(S.ARCHIVING), [E.ARCHIVE_STARTED]),
        (summary(S.ARCHIVING, T0), summary(S.ARCHIVING), []),
        (summary(S.ARCHIVING, T0), summary(S.RETRYING, attempt=1), [E.ARCHIVE_RETRYING]),
        (summary(S.RETRYING, T0, attempt=1), summary(S.RETRYING, attempt=1), []),
        (summary(S.RETRYING, T0, attempt=1), summary(S.RETRYING, attempt=2), [E.ARCHIVE_RETRYING]),
        (summary(S.RETRYING, T0, attempt=2), summary(S.COMPLETED), [E.ARCHIVE_COMPLETED]),
        (summary(S.COMPLETED, T0), summary(S.COMPLETED), []),
        (summary(S.ARCHIVING, T0), summary(S.LOST), [E.ARCHIVE_LOST]),
        (summary(S.COMPLETED, T0), summary(S.EXPIRING), []),
        (summary(S.EXPIRING, T0), summary(S.EXPIRED, previous_status=S.COMPLETED), [E.ARCHIVE_EXPIRED]),
        (
            summary(S.COMPLETED, T0, source_deletion="pending"),
            summary(S.COMPLETED, source_deletion="deleted"),
            [E.ARCHIVE_SOURCE_DELETED],
        ),
        (
            summary(S.COMPLETED, T0, source_deletion="deleted"),
            summary(S.COMPLETED, source_deletion="deleted"),
            [],
        ),
    ],
)
def test_each_change_makes_its_events_and_a_repeated_write_none(
    before: ArchiveSummary | None, after: ArchiveSummary, expected: list[E]
) -> None:
    assert types(announcements(RECORDING, before, after)) == expected


def test_every_event_of_a_round_follows_the_published_schema() -> None:
    lost = manifest(S.LOST, chunks=(), chunks_expected=1, lost=(Unverified(0, "gone at ACS", lost=True),))
    cases = [
        (None, summary(S.ARCHIVING), None),
        (summary(S.ARCHIVING, T0), summary(S.RETRYING, attempt=1, next_attempt_at=T1), manifest(S.RETRYING)),
        (summary(S.ARCHIVING, T0), summary(S.COMPLETED, chunks=1, bytes=1000), manifest(S.COMPLETED)),
        (summary(S.ARCHIVING, T0), summary(S.LOST), lost),
        (
            summary(S.COMPLETED, T0, source_deletion="pending"),
            summary(S.COMPLETED, source_deletion="deleted"),
            manifest(S.COMPLETED, chunks=(chunk(0, deleted=True),), source_deletion="deleted"),
        ),
        (summary(S.AWAITING_FILES, T0), summary(S.OVERDUE), None),
        (summary(S.EXPIRING, T0), summary(S.EXPIRED, previous_status=S.LOST, expired_at=T1), None),
    ]
    checked: set[E] = set()
    for sequence, (before, after, found) in enumerate(cases, start=1):
        for item in announcements(RECORDING, before, after, manifest=found):
            event = cloud_event(item, recording_id=RECORDING, sequence=sequence, source="/api")
            assert schema_problems(event) == [], (item.type, schema_problems(event))
            checked.add(item.type)
    assert checked == set(E) - {E.RECORDING_STARTED}  # the start's event is the catalog's


def test_a_completed_archive_names_each_file_and_its_routes_never_a_link() -> None:
    (completed,) = announcements(
        RECORDING, summary(S.ARCHIVING, T0), summary(S.COMPLETED), manifest=manifest(S.COMPLETED)
    )
    (file,) = completed.data["files"]
    assert file["downloadRoute"] == f"/api/recordings/{RECORDING}/archive/chunks/0"
    assert file["metadataRoute"] == f"/api/recordings/{RECORDING}/archive/chunks/0/metadata"
    assert (file["durationMs"], file["size"], completed.data["latencySeconds"]) == (30_000, 1000, 300.0)
    assert "sig=" not in str(completed.data)


def test_files_that_would_not_fit_event_grids_limit_are_cut_and_said_so() -> None:
    files = [
        {"downloadRoute": "/api/recordings/" + "%2B" * 1000 + f"/archive/chunks/{i}"} for i in range(1000)
    ]
    fitted = fitted_files(files)
    assert fitted["filesTruncated"] is True
    assert fitted["filesTotal"] == 1000
    assert 0 < len(fitted["files"]) < 1000
    assert len(str(fitted)) < MAX_EVENT_BYTES
    assert fitted_files(files[:10]) == {"files": files[:10]}
