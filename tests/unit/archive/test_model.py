"""The archive's shapes and the manifest's rules: when an archive is verified, which ACS copies may go,
what may replace it, and how each shape crosses the wire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.archive.model import (
    ArchivedChunk,
    ArchiveJob,
    ArchiveRun,
    Manifest,
    RetryPolicy,
    Unverified,
    build_manifest,
)
from shared.archive.states import ArchiveStatus
from shared.wire import WireError
from tests.unit.archive.test_events import event_grid, parse, with_chunk

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def two_chunk_job() -> ArchiveJob:
    data = with_chunk()
    (only,) = data["recordingStorageInfo"]["recordingChunks"]
    data["recordingStorageInfo"]["recordingChunks"] = [only, {**only, "index": 1, "documentId": "doc1"}]
    return parse(event_grid(data))


def archived(job: ArchiveJob, *, indexes: tuple[int, ...] | None = None) -> list[ArchivedChunk]:
    chosen = [c for c in job.chunks if indexes is None or c.index in indexes]
    return [
        ArchivedChunk(
            index=chunk.index,
            document_id=chunk.document_id,
            blob_name=f"p/{chunk.index}.wav",
            metadata_blob_name=f"p/{chunk.index}.json",
            size=10 + chunk.index,
            sha256=f"sha-{chunk.index}",
            content_type="audio/wav",
            end_reason=chunk.end_reason,
            delete_location=chunk.delete_location,
        )
        for chunk in reversed(chosen)
    ]


POLICY = RetryPolicy(deadline="2026-12-04T12:00:00+00:00")


def build(job: ArchiveJob, chunks: list[ArchivedChunk], errors: list[str] | None = None) -> Manifest:
    """The manifest of a round that verified `chunks`; Completed unless `errors` (then Retrying)."""
    run = ArchiveRun(job=job, delete_source=True, policy=POLICY, verified=tuple(chunks))
    missing = {c.index for c in job.chunks} - {c.index for c in chunks}
    unverified = tuple(
        Unverified(i, message) for i, message in zip(sorted(missing), errors or [], strict=False)
    )
    return build_manifest(
        run,
        status=ArchiveStatus.RETRYING if errors else ArchiveStatus.COMPLETED,
        instance_id=job.instance_id,
        recorded_at=AT,
        unverified=unverified,
    )


def test_every_chunk_archived_and_no_error_is_completed_verified_and_pending_deletion() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job))
    assert (manifest.status, manifest.verified, manifest.source_deletion) == (
        ArchiveStatus.COMPLETED,
        True,
        "pending",
    )
    assert [chunk.index for chunk in manifest.chunks] == [0, 1]
    assert manifest.total_bytes == 21


def test_a_missing_chunk_leaves_the_manifest_unverified_and_skips_deletion() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job, indexes=(0,)), ["the recording host answered 503"])
    assert (manifest.status, manifest.verified, manifest.source_deletion) == (
        ArchiveStatus.RETRYING,
        False,
        "skippedArchiveFailed",
    )
    assert manifest.errors == ("chunk 1: the recording host answered 503",)


def test_even_a_completed_status_is_not_verified_without_every_chunk() -> None:
    job = two_chunk_job()
    assert not replace(build(job, archived(job)), chunks=tuple(archived(job, indexes=(0,)))).verified


def test_nothing_is_source_deletable_unless_the_archive_is_verified() -> None:
    job = two_chunk_job()
    failed = build(job, archived(job, indexes=(0,)), ["chunk 1 failed"])
    assert failed.source_deletable() == []
    assert [c.index for c in build(job, archived(job)).source_deletable()] == [0, 1]


def test_a_chunk_without_a_sha256_makes_a_completed_manifest_unverified() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job))
    unhashed = replace(manifest, chunks=(manifest.chunks[0], replace(manifest.chunks[1], sha256="")))
    assert not unhashed.verified


def test_a_chunk_listed_twice_does_not_count_as_two() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job))
    doubled = replace(manifest, chunks=(manifest.chunks[0], manifest.chunks[0]))
    assert not doubled.verified


def test_marking_the_source_deleted_marks_only_chunks_acs_said_where_to_delete() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job))
    no_location = replace(manifest.chunks[1], delete_location=None)
    deleted = replace(manifest, chunks=(manifest.chunks[0], no_location)).with_source_deleted({0})
    assert [c.source_deleted for c in deleted.chunks] == [True, False]
    assert deleted.source_deletion == "deleted"
    assert deleted.source_deletable() == []


def test_a_failed_manifest_never_replaces_a_completed_one() -> None:
    job = two_chunk_job()
    completed = build(job, archived(job))
    failed = build(job, [], ["gone", "gone"])
    assert not failed.may_replace(completed)
    assert completed.may_replace(failed)
    assert failed.may_replace(None)


def test_the_manifest_round_trips_through_its_stored_json() -> None:
    manifest = build(two_chunk_job(), archived(two_chunk_job()))
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_the_stored_json_has_the_documented_keys() -> None:
    document = build(two_chunk_job(), archived(two_chunk_job())).document()
    assert set(document) == {
        "recordingId", "recordingKey", "serverCallId", "instanceId", "status", "eventId", "eventTime",
        "recordingStartTime", "recordingDurationMs", "sessionEndReason", "recordedAt", "prefix",
        "manifestBlobName", "chunksExpected", "chunks", "totalBytes", "sourceDeletion", "errors",
        "attempt", "nextAttemptAt", "deadline", "lost",
    }  # fmt: skip
    assert set(document["chunks"][0]) == {
        "index", "documentId", "blobName", "metadataBlobName", "size", "sha256", "contentType",
        "endReason", "deleteLocation", "sourceDeleted", "metadataSize", "metadataSha256", "metadataProblem",
        "durationMs",
    }  # fmt: skip


def test_the_manifest_is_read_back_from_its_stored_document() -> None:
    manifest = build(two_chunk_job(), archived(two_chunk_job()))
    assert Manifest.from_json(manifest.document()) == manifest


def test_an_archive_run_round_trips_with_every_chunk_and_the_stored_prefix() -> None:
    run = ArchiveRun(job=two_chunk_job(), delete_source=True, policy=POLICY)
    assert ArchiveRun.from_json(run.to_json()) == run
    assert run.to_json()["job"]["prefix"] == run.job.prefix


def test_every_payload_is_camel_case_on_the_wire() -> None:
    wire = archived(two_chunk_job())[0].to_json()
    assert {"documentId", "blobName", "deleteLocation", "sourceDeleted"} <= set(wire)
    assert not any("_" in key for key in wire)


def test_a_payload_of_the_wrong_shape_is_refused_with_the_field_named() -> None:
    wire = archived(two_chunk_job())[0].to_json()
    with pytest.raises(WireError, match=r"ArchivedChunk\.size must be int"):
        ArchivedChunk.from_json({**wire, "size": "10"})
    with pytest.raises(WireError, match=r"ArchivedChunk\.sha256 is missing"):
        ArchivedChunk.from_json({k: v for k, v in wire.items() if k != "sha256"})


def test_a_manifest_status_outside_the_archive_states_is_refused() -> None:
    document = build(two_chunk_job(), archived(two_chunk_job())).document()
    assert Manifest.from_json(document).status is ArchiveStatus.COMPLETED
    with pytest.raises(WireError, match="status"):
        Manifest.from_json({**document, "status": "completed"})
