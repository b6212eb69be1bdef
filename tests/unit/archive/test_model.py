"""The manifest's rules: when an archive is verified, which ACS copies may go, what may replace it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from shared.archive.events import ArchiveJob
from shared.archive.manifest import Manifest, build_manifest
from shared.archive.transfer import ChunkArchive
from tests.unit.archive.test_events import event_grid, parse, with_chunk

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def two_chunk_job() -> ArchiveJob:
    data = with_chunk()
    (only,) = data["recordingStorageInfo"]["recordingChunks"]
    data["recordingStorageInfo"]["recordingChunks"] = [only, {**only, "index": 1, "documentId": "doc1"}]
    return parse(event_grid(data))


def archived(job: ArchiveJob, *, indexes: tuple[int, ...] | None = None) -> list[ChunkArchive]:
    chosen = [c for c in job.chunks if indexes is None or c.index in indexes]
    return [
        ChunkArchive(
            chunk.index,
            chunk.document_id,
            f"p/{chunk.index}.wav",
            f"p/{chunk.index}.json",
            10 + chunk.index,
            f"sha-{chunk.index}",
            "audio/wav",
            chunk.end_reason,
            delete_location=chunk.delete_location,
        )
        for chunk in reversed(chosen)
    ]


def build(job: ArchiveJob, chunks: list[ChunkArchive], errors: list[str] | None = None) -> Manifest:
    return build_manifest(
        job,
        prefix="p",
        instance_id=job.instance_id,
        recorded_at=AT,
        archived=chunks,
        errors=errors or [],
        delete_source=True,
    )


def test_every_chunk_archived_and_no_error_is_completed_verified_and_pending_deletion() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job))
    assert (manifest.status, manifest.verified, manifest.source_deletion) == ("Completed", True, "pending")
    assert [chunk.index for chunk in manifest.chunks] == [0, 1]
    assert manifest.total_bytes == 21


def test_a_missing_chunk_fails_the_manifest_and_skips_deletion() -> None:
    job = two_chunk_job()
    manifest = build(job, archived(job, indexes=(0,)), ["chunk 1 failed"])
    assert (manifest.status, manifest.verified, manifest.source_deletion) == (
        "Failed",
        False,
        "skippedArchiveFailed",
    )


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
    deleted = replace(manifest, chunks=(manifest.chunks[0], no_location)).with_source_deleted()
    assert [c.source_deleted for c in deleted.chunks] == [True, False]
    assert deleted.source_deletion == "deleted"
    assert deleted.source_deletable() == []


def test_a_failed_manifest_never_replaces_a_completed_one() -> None:
    job = two_chunk_job()
    completed = build(job, archived(job))
    failed = build(job, [], ["gone"])
    assert not failed.may_replace(completed)
    assert completed.may_replace(failed)
    assert failed.may_replace(None)


def test_the_manifest_round_trips_through_its_stored_json() -> None:
    manifest = build(two_chunk_job(), archived(two_chunk_job()))
    assert Manifest.from_json(manifest.to_json()) == manifest


def test_the_stored_json_has_the_documented_keys() -> None:
    document = build(two_chunk_job(), archived(two_chunk_job())).to_json()
    assert set(document) == {
        "recordingId", "recordingKey", "serverCallId", "instanceId", "status", "eventId", "eventTime",
        "recordingStartTime", "recordingDurationMs", "sessionEndReason", "recordedAt", "prefix",
        "manifestBlobName", "chunksExpected", "chunks", "totalBytes", "sourceDeletion", "errors",
    }  # fmt: skip
    assert set(document["chunks"][0]) == {
        "index", "documentId", "blobName", "metadataBlobName", "size", "sha256", "contentType",
        "endReason", "deleteLocation", "sourceDeleted",
    }  # fmt: skip


def test_an_activity_result_recorded_before_delete_locations_keeps_its_acs_copy() -> None:
    job = two_chunk_job()
    old_results = [{k: v for k, v in a.to_json().items() if k != "delete_location"} for a in archived(job)]
    manifest = build(job, [ChunkArchive.from_json(result) for result in old_results])
    assert manifest.verified
    assert manifest.source_deletable() == []
