"""The archive orchestrator, branch by branch: driven by hand as the Durable runtime would drive it
(tests/support/orchestrations.py), each chunk's activity answered with a result or a failure."""

from __future__ import annotations

from typing import Any

import pytest

from shared.archive.model import (
    ArchivedChunk,
    ArchiveJob,
    ArchiveRun,
    BatchOutcome,
    ChunkBatch,
    ChunkTask,
    Manifest,
)
from shared.archive.orchestration import (
    ARCHIVE_BATCH,
    ARCHIVE_CHUNK,
    BATCH_CHUNKS,
    BATCHES_AT_ONCE,
    DELETE_SOURCE_CHUNK,
    FAN_OUT_WAVE,
    RECORD_ARCHIVE,
    archive_batch_orchestration,
    archive_orchestration,
    waves,
)
from shared.archive.states import ArchiveStatus
from tests.support.orchestrations import Context, Task, drive
from tests.unit.archive.test_events import event_grid, parse, with_chunk


def test_waves_cover_every_chunk_once_in_order() -> None:
    assert [list(w) for w in waves(10, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_no_chunks_no_waves() -> None:
    assert waves(0, 8) == []


def job_of(chunks: int) -> ArchiveJob:
    data = with_chunk()
    (only,) = data["recordingStorageInfo"]["recordingChunks"]
    data["recordingStorageInfo"]["recordingChunks"] = [
        {**only, "index": i, "documentId": f"doc{i}"} for i in range(chunks)
    ]
    return parse(event_grid(data))


def archived(task: ChunkTask) -> ArchivedChunk:
    chunk = task.chunk
    return ArchivedChunk(
        index=chunk.index,
        document_id=chunk.document_id,
        blob_name=f"{task.prefix}/{chunk.index:03d}.wav",
        metadata_blob_name=f"{task.prefix}/{chunk.index:03d}.metadata.json",
        size=100,
        sha256=f"sha{chunk.index}",
        content_type="audio/wav",
        end_reason=chunk.end_reason,
        delete_location=chunk.delete_location,
    )


def answers(failing: frozenset[int] = frozenset()) -> Any:
    """Every activity succeeds, but the chunks in `failing`, which fail after all their retries."""

    def outcome(task: Task) -> Any:
        if task.name == ARCHIVE_CHUNK:
            chunk_task = ChunkTask.from_json(task.input)
            if chunk_task.chunk.index in failing:
                return RuntimeError(f"chunk {chunk_task.chunk.index}: the recording host answered 503")
            return archived(chunk_task).to_json()
        if task.name == ARCHIVE_BATCH:
            return drive(archive_batch_orchestration(Context(task.input)), outcome)
        if task.name == DELETE_SOURCE_CHUNK:
            return True
        return None

    return outcome


def run(
    chunks: int, *, delete_source: bool = False, failing: frozenset[int] = frozenset()
) -> tuple[Context, Any]:
    context = Context(ArchiveRun(job=job_of(chunks), delete_source=delete_source).to_json())
    try:
        result: Any = drive(archive_orchestration(context), answers(failing))
    except RuntimeError as error:
        result = error
    return context, result


def recorded(context: Context) -> list[Manifest]:
    return [Manifest.from_json(task.input) for task in context.activities(RECORD_ARCHIVE)]


def test_every_chunk_archived_records_a_completed_manifest_and_returns_its_name() -> None:
    context, result = run(3)
    (manifest,) = recorded(context)
    assert (manifest.status, [c.index for c in manifest.chunks]) == (ArchiveStatus.COMPLETED, [0, 1, 2])
    assert result == {"manifest": manifest.blob_name, "chunks": 3, "bytes": 300}
    assert context.custom_status[-1]["phase"] == "done"


def test_a_chunk_failing_after_its_retries_records_a_failed_manifest_and_fails_the_run() -> None:
    context, result = run(3, failing=frozenset({1}))
    assert isinstance(result, RuntimeError)
    (manifest,) = recorded(context)
    assert manifest.status == ArchiveStatus.FAILED
    assert [c.index for c in manifest.chunks] == [0, 2]  # what did arrive is kept
    assert manifest.errors == ("chunk 1: the recording host answered 503",)
    assert context.custom_status[-1] == {
        "phase": "failed", "chunksDone": 2, "chunksTotal": 3, "chunksFailed": 1, "bytesDone": 200,
    }  # fmt: skip


def test_a_failed_wave_schedules_no_later_wave() -> None:
    context, _ = run(12, failing=frozenset({0}))  # waves of 8: chunks 8..11 are never started
    assert sorted(
        ChunkTask.from_json(t.input).chunk.index for t in context.activities(ARCHIVE_CHUNK)
    ) == list(range(8))


def test_a_failed_archive_deletes_no_acs_copy() -> None:
    context, _ = run(3, delete_source=True, failing=frozenset({2}))
    assert context.activities(DELETE_SOURCE_CHUNK) == []
    assert recorded(context)[0].source_deletion == "skippedArchiveFailed"


def test_a_verified_archive_deletes_each_chunks_acs_copy_then_records_it_deleted() -> None:
    context, _ = run(3, delete_source=True)
    deleted = [ArchivedChunk.from_json(t.input) for t in context.activities(DELETE_SOURCE_CHUNK)]
    assert [c.index for c in deleted] == [0, 1, 2]
    assert all(c.sha256 and c.delete_location for c in deleted)
    before, after = recorded(context)
    assert (before.source_deletion, after.source_deletion) == ("pending", "deleted")
    assert all(c.source_deleted for c in after.chunks)
    order = [t.name for t in context.scheduled if t.kind == "activity" and t.name != ARCHIVE_CHUNK]
    assert order == [RECORD_ARCHIVE, *[DELETE_SOURCE_CHUNK] * 3, RECORD_ARCHIVE]  # recorded before deleting


def test_without_deletion_asked_no_acs_copy_is_touched() -> None:
    context, _ = run(3)
    assert context.activities(DELETE_SOURCE_CHUNK) == []
    assert recorded(context)[0].source_deletion == "notRequested"


def test_a_long_recording_is_archived_by_batch_sub_orchestrations_with_fresh_instance_ids() -> None:
    chunks = BATCH_CHUNKS + 8
    context, _ = run(chunks)
    batches = [t for t in context.scheduled if t.kind == "orchestration"]
    assert [t.name for t in batches] == [ARCHIVE_BATCH, ARCHIVE_BATCH]
    assert [len(ChunkBatch.from_json(t.input).chunks) for t in batches] == [BATCH_CHUNKS, 8]
    run_tag = batches[0].instance_id.split(":")[1]
    assert [t.instance_id for t in batches] == [
        f"archive-test:{run_tag}:0000",
        f"archive-test:{run_tag}:0001",
    ]
    (manifest,) = recorded(context)
    assert (manifest.status, len(manifest.chunks)) == (ArchiveStatus.COMPLETED, chunks)
    assert context.activities(ARCHIVE_CHUNK) == []  # the parent schedules no chunk itself


def test_a_failed_batch_stops_the_batches_after_its_wave() -> None:
    chunks = BATCH_CHUNKS * (BATCHES_AT_ONCE + 2)
    context, result = run(chunks, failing=frozenset({3}))
    batches = [t for t in context.scheduled if t.kind == "orchestration"]
    assert len(batches) == BATCHES_AT_ONCE
    assert isinstance(result, RuntimeError)
    (manifest,) = recorded(context)
    assert manifest.status == ArchiveStatus.FAILED
    # the failing batch stopped after its first wave (chunk 3 of 0..7), its sibling archived all of its own
    assert len(manifest.chunks) == (FAN_OUT_WAVE - 1) + BATCH_CHUNKS * (BATCHES_AT_ONCE - 1)


def test_a_batch_reports_no_progress_of_its_own_and_returns_what_it_archived() -> None:
    batch = ChunkBatch(job_of(3).chunks, "p", None)
    context = Context(batch.to_json())
    outcome = BatchOutcome.from_json(drive(archive_batch_orchestration(context), answers(frozenset({2}))))
    assert [c.index for c in outcome.archived] == [0, 1]
    assert len(outcome.errors) == 1
    assert context.custom_status == []


@pytest.mark.parametrize("chunks", [1, BATCH_CHUNKS, BATCH_CHUNKS + 1])
def test_each_chunk_is_archived_exactly_once_at_the_edges_of_batching(chunks: int) -> None:
    context, _ = run(chunks)
    (manifest,) = recorded(context)
    assert [c.index for c in manifest.chunks] == list(range(chunks))
