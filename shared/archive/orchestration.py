"""The archive orchestrator: deterministic (no clocks, no I/O, no randomness), replay-safe.

Fan out one activity per chunk (with retries), fan in while publishing progress as custom
status, record the manifest and catalog, then - only if the whole archive is verified and
deletion is enabled - delete the ACS copy of each verified chunk.

Every completion replays the orchestration's whole history, so one orchestration of n chunks
costs O(n^2). A recording of more than BATCH_CHUNKS chunks is therefore archived by
sub-orchestrations of BATCH_CHUNKS chunks each (ARCHIVE_BATCH), BATCHES_AT_ONCE at a time: each
replays only its own batch, the parent one event per batch (benchmarks/README.md, fan-out).

Every payload is a shared.archive.model shape, put on the wire with `to_json()` and read back with
`from_json()`: Durable's history holds JSON only.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

import azure.durable_functions as df

from shared.archive.model import (
    ArchivedChunk,
    ArchiveProgress,
    ArchiveResult,
    ArchiveRun,
    BatchOutcome,
    ChunkBatch,
    Phase,
    build_manifest,
)

ARCHIVE_CHUNK: Final = "archive_chunk"
RECORD_ARCHIVE: Final = "record_archive"
DELETE_SOURCE_CHUNK: Final = "delete_source_chunk"
ORCHESTRATOR: Final = "archive_recording"
ARCHIVE_BATCH: Final = "archive_chunk_batch"  # sub-orchestrator: one batch of a long recording
FAN_OUT_WAVE: Final = 8  # chunks archived in parallel per wave; progress is reported per wave
BATCH_CHUNKS: Final = 32  # up to this many chunks fan out in-line; more go in batches of this size
BATCHES_AT_ONCE: Final = 2  # batches in flight together; progress is reported per wave of batches
MAX_ERROR: Final = 500

Orchestration = Generator[Any, Any, Any]


def chunk_retry() -> df.RetryOptions:
    """5 attempts, 5 s apart. (The Python SDK sends only these two knobs to the extension; a
    backoff coefficient set on RetryOptions would be silently dropped. Per-range retries inside
    the activity handle short hiccups; these handle crashes and longer outages.)"""
    return df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=5)


def waves(count: int, size: int) -> list[range]:
    """Chunk indexes in fan-out waves: `waves(10, 4)` -> [0..3], [4..7], [8..9]."""
    return [range(first, min(first + size, count)) for first in range(0, count, size)]


class _Tally:
    """What the run has archived so far, and why it stopped short; reported as custom status."""

    def __init__(self, context: df.DurableOrchestrationContext, total: int, *, reports: bool = True) -> None:
        self.context, self.total, self.reports = context, total, reports
        self.archived: list[ArchivedChunk] = []
        self.errors: list[str] = []

    def report(self, phase: Phase = "archiving") -> None:
        if not self.reports:  # a batch: its parent reports the whole archive's progress
            return
        done_bytes = sum(chunk.size for chunk in self.archived)
        progress = ArchiveProgress(phase, len(self.archived), self.total, len(self.errors), done_bytes)
        self.context.set_custom_status(progress.to_json())

    def failed(self, error: Exception) -> None:
        self.errors.append(str(error)[:MAX_ERROR])


def archive_orchestration(context: df.DurableOrchestrationContext) -> Orchestration:
    """Archive every chunk, record the manifest, then (if asked and verified) delete the ACS copy."""
    run = ArchiveRun.from_json(context.get_input())
    job = run.job
    tally = _Tally(context, len(job.chunks))
    tally.report()
    batch = ChunkBatch(job.chunks, job.prefix, job.format_hint)
    if len(job.chunks) <= BATCH_CHUNKS:
        yield from _archive_in_waves(context, batch, tally)
    else:
        yield from _archive_in_batches(context, batch, tally)
    manifest = build_manifest(
        job,
        instance_id=context.instance_id,
        recorded_at=context.current_utc_datetime,
        archived=tally.archived,
        errors=tally.errors,
        delete_source=run.delete_source,
    )
    retry = chunk_retry()
    yield context.call_activity_with_retry(RECORD_ARCHIVE, retry, manifest.to_json())
    if not manifest.verified:
        tally.report("failed")
        raise RuntimeError(
            f"chunks could not be archived: {tally.errors[0] if tally.errors else 'incomplete'}"
        )
    if run.delete_source:
        tally.report("deletingSource")
        deletions = [
            context.call_activity_with_retry(DELETE_SOURCE_CHUNK, retry, chunk.to_json())
            for chunk in manifest.source_deletable()
        ]
        yield context.task_all(deletions)
        manifest = manifest.with_source_deleted()
        yield context.call_activity_with_retry(RECORD_ARCHIVE, retry, manifest.to_json())
    tally.report("done")
    return ArchiveResult(manifest.blob_name, len(job.chunks), manifest.total_bytes).to_json()


def _archive_in_waves(
    context: df.DurableOrchestrationContext, batch: ChunkBatch, tally: _Tally
) -> Generator[Any, Any, None]:
    """Archive `batch`'s chunks in waves into the tally; stop at the first chunk that failed.

    Each wave is one task_all over fresh tasks: the replay-safe fan-out/fan-in. (Re-yielding
    task_any over tasks already scheduled makes the action list depend on timing; see README.)"""
    retry = chunk_retry()
    chunk_tasks = batch.tasks()
    for wave in waves(len(chunk_tasks), FAN_OUT_WAVE):
        tasks = [
            context.call_activity_with_retry(ARCHIVE_CHUNK, retry, chunk_tasks[i].to_json()) for i in wave
        ]
        try:
            results = yield context.task_all(tasks)
        except Exception as error:  # the first chunk that failed after all its retries
            tally.failed(error)
            results = [t.result for t in tasks if t.is_completed and not isinstance(t.result, Exception)]
        tally.archived.extend(ArchivedChunk.from_json(result) for result in results)
        tally.report()
        if tally.errors:
            break


def _archive_in_batches(
    context: df.DurableOrchestrationContext, batch: ChunkBatch, tally: _Tally
) -> Generator[Any, Any, None]:
    """A long recording: sub-orchestrations of BATCH_CHUNKS chunks, in waves of BATCHES_AT_ONCE.

    Child instance ids come from the parent's id and new_uuid() (deterministic under replay, new for
    each run), so a re-run never collides with the children of an earlier run."""
    chunks = batch.chunks
    batches = [
        ChunkBatch(chunks[first : first + BATCH_CHUNKS], batch.prefix, batch.format_hint)
        for first in range(0, len(chunks), BATCH_CHUNKS)
    ]
    run = str(context.new_uuid())[:8]
    for wave in waves(len(batches), BATCHES_AT_ONCE):
        tasks = [
            context.call_sub_orchestrator(
                ARCHIVE_BATCH, batches[b].to_json(), instance_id=f"{context.instance_id}:{run}:{b:04d}"
            )
            for b in wave
        ]
        try:
            results = yield context.task_all(tasks)
        except Exception as error:  # a batch orchestration itself failed (not one of its chunks)
            tally.failed(error)
            results = [t.result for t in tasks if t.is_completed and not isinstance(t.result, Exception)]
        for result in results:
            outcome = BatchOutcome.from_json(result)
            tally.archived.extend(outcome.archived)
            tally.errors.extend(outcome.errors)
        tally.report()
        if tally.errors:
            break


def archive_batch_orchestration(context: df.DurableOrchestrationContext) -> Orchestration:
    """One batch of a long recording: its chunks in waves; what was archived, and the first error."""
    tally = _Tally(context, 0, reports=False)
    yield from _archive_in_waves(context, ChunkBatch.from_json(context.get_input()), tally)
    return BatchOutcome(tuple(tally.archived), tuple(tally.errors)).to_json()
