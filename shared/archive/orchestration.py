"""The archive orchestrator: deterministic (no clocks, no I/O, no randomness), replay-safe.

One orchestration instance per recording, one *round* per execution:

1. Archive every chunk not yet verified: fan out one activity per chunk in waves, up to PASSES
   passes PASS_GAP_S apart for the chunks that failed. Each activity answers for its chunk
   (archived, failed with a short reason, or gone at ACS) instead of failing, so one bad chunk
   never hides its siblings' answers.
2. Decide (shared.archive.rounds, pure): Completed when every chunk is verified; Lost when what is
   left is gone at ACS for long enough or the deadline passed; else Retrying.
3. Record the manifest and the catalog. Completed: delete the ACS copies if asked (each checked
   against its archived blob first). Retrying: wait on a Durable timer (or the `wake` event a
   re-run raises), then `continue_as_new` with what is verified: history stays one round long.

A recording of more than BATCH_CHUNKS chunks fans out as sub-orchestrations of BATCH_CHUNKS
chunks, BATCHES_AT_ONCE at a time: each replays only its own batch (benchmarks/README.md, fan-out).
Every payload is a shared.archive.model shape, on the wire as JSON.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import replace
from datetime import timedelta
from typing import Any, Final

import azure.durable_functions as df

from shared.archive.model import (
    ArchivedChunk,
    ArchiveProgress,
    ArchiveResult,
    ArchiveRun,
    BatchOutcome,
    ChunkAttempt,
    ChunkBatch,
    Manifest,
    Phase,
    build_manifest,
)
from shared.archive.rounds import RoundEnd, end_of_round
from shared.archive.states import ArchiveStatus
from shared.errors import short_error

ARCHIVE_CHUNK: Final = "archive_chunk"
RECORD_ARCHIVE: Final = "record_archive"
DELETE_SOURCE_CHUNK: Final = "delete_source_chunk"
ORCHESTRATOR: Final = "archive_recording"
ARCHIVE_BATCH: Final = "archive_chunk_batch"  # sub-orchestrator: one pass over a batch of a long recording
WAKE_EVENT: Final = "wake"  # raised by `POST .../archive` on a Retrying archive: try now
FAN_OUT_WAVE: Final = 8  # chunks archived in parallel per wave; progress is reported per wave
BATCH_CHUNKS: Final = 32  # up to this many chunks fan out in-line; more go in batches of this size
BATCHES_AT_ONCE: Final = 2  # batches in flight together
PASSES: Final = 5  # passes over the failed chunks within a round (the old 5 attempts, 5 s apart)
PASS_GAP_S: Final = 5

Orchestration = Generator[Any, Any, Any]


def record_retry() -> df.RetryOptions:
    """For the manifest and deletion activities, which fail only when storage or ACS does: 5
    attempts, 5 s apart. (The Python SDK sends only these two knobs to the extension; a backoff
    coefficient set on RetryOptions would be silently dropped.)"""
    return df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=5)


def waves(count: int, size: int) -> list[range]:
    """Chunk indexes in fan-out waves: `waves(10, 4)` -> [0..3], [4..7], [8..9]."""
    return [range(first, min(first + size, count)) for first in range(0, count, size)]


def archive_orchestration(context: df.DurableOrchestrationContext) -> Orchestration:
    """One round of a recording's archive; the next round is this function again (continue_as_new)."""
    run = ArchiveRun.from_json(context.get_input())
    total = len(run.job.chunks)
    _report(context, run, "archiving")
    attempts = yield from _passes(context, run)
    run = replace(run, verified=run.verified + tuple(a.archived for a in attempts if a.archived))
    end = end_of_round(run, attempts, context.current_utc_datetime)
    manifest = build_manifest(
        run,
        status=end.status,
        instance_id=context.instance_id,
        recorded_at=context.current_utc_datetime,
        unverified=end.unverified,
        next_attempt_at=end.next_attempt_at,
    )
    recorded = yield from _record(context, manifest)
    if end.status == ArchiveStatus.RETRYING or not recorded:
        yield from _wait_for_next_round(context, run, end, manifest)
        return None
    if end.status == ArchiveStatus.LOST:
        _report(context, run, "lost", end)
        return None
    if run.delete_source:
        _report(context, run, "deletingSource")
        manifest = yield from _delete_source(context, manifest)
    _report(context, run, "done")
    return ArchiveResult(manifest.blob_name, total, manifest.total_bytes).to_json()


def _passes(
    context: df.DurableOrchestrationContext, run: ArchiveRun
) -> Generator[Any, Any, list[ChunkAttempt]]:
    """Each pending chunk tried up to PASSES times within the round; every answer, in order."""
    every: list[ChunkAttempt] = []
    answers: dict[int, ChunkAttempt] = {}
    todo = list(run.pending())
    for number in range(PASSES):
        if number:
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=PASS_GAP_S))
        batch = ChunkBatch(tuple(todo), run.job.prefix, run.job.format_hint, run.job.recording_id)
        if len(todo) <= BATCH_CHUNKS:
            found = yield from _one_pass(context, batch)
        else:
            found = yield from _one_pass_in_batches(context, batch)
        every.extend(found)
        answers.update({attempt.index: attempt for attempt in found})
        todo = [chunk for chunk in todo if _try_again(answers.get(chunk.index))]
        verified = run.verified + tuple(a.archived for a in answers.values() if a.archived)
        _report(context, replace(run, verified=verified), "archiving")
        if not todo:
            break
    return every


def _try_again(attempt: ChunkAttempt | None) -> bool:
    """Not answered in this pass (cut short by an outage), or failed for a reason that may pass.
    A chunk gone at ACS is not asked again within the round: its Lost clock runs across rounds."""
    return attempt is None or (attempt.archived is None and not attempt.gone)


def _one_pass(
    context: df.DurableOrchestrationContext, batch: ChunkBatch
) -> Generator[Any, Any, list[ChunkAttempt]]:
    """One try of each chunk of `batch`, in waves. A wave in which every chunk failed looks like an
    outage: the pass stops there, and the rest wait for the next pass instead of failing too."""
    tasks = batch.tasks()
    found: list[ChunkAttempt] = []
    for wave in waves(len(tasks), FAN_OUT_WAVE):
        scheduled = [context.call_activity(ARCHIVE_CHUNK, tasks[i].to_json()) for i in wave]
        try:
            results = yield context.task_all(scheduled)
        except Exception as error:  # the activity itself failed (not its chunk): a crash, a bug
            reason = short_error(str(error))
            results = [
                t.result if t.is_completed and not isinstance(t.result, Exception) else None
                for t in scheduled
            ]
            results = [
                r if r is not None else ChunkAttempt(tasks[i].chunk.index, error=reason).to_json()
                for i, r in zip(wave, results, strict=True)
            ]
        attempts = [ChunkAttempt.from_json(result) for result in results]
        found.extend(attempts)
        if all(a.archived is None and not a.gone for a in attempts):
            break
    return found


def _one_pass_in_batches(
    context: df.DurableOrchestrationContext, batch: ChunkBatch
) -> Generator[Any, Any, list[ChunkAttempt]]:
    """A long recording's pass: sub-orchestrations of BATCH_CHUNKS chunks, BATCHES_AT_ONCE at a time.

    Child instance ids come from the parent's id and new_uuid() (deterministic under replay, new for
    each pass and round), so no child ever collides with an earlier one."""
    chunks = batch.chunks
    parts = [
        ChunkBatch(chunks[first : first + BATCH_CHUNKS], batch.prefix, batch.format_hint, batch.recording_id)
        for first in range(0, len(chunks), BATCH_CHUNKS)
    ]
    run_tag = str(context.new_uuid())[:8]
    found: list[ChunkAttempt] = []
    for wave in waves(len(parts), BATCHES_AT_ONCE):
        scheduled = [
            context.call_sub_orchestrator(
                ARCHIVE_BATCH, parts[b].to_json(), instance_id=f"{context.instance_id}:{run_tag}:{b:04d}"
            )
            for b in wave
        ]
        try:
            results = yield context.task_all(scheduled)
        except Exception:  # a batch orchestration itself failed: its chunks are tried next pass
            results = [t.result for t in scheduled if t.is_completed and not isinstance(t.result, Exception)]
        attempts = [attempt for result in results for attempt in BatchOutcome.from_json(result).attempts]
        found.extend(attempts)
        if all(a.archived is None and not a.gone for a in attempts):
            break
    return found


def archive_batch_orchestration(context: df.DurableOrchestrationContext) -> Orchestration:
    """One pass over one batch of a long recording: each chunk's answer."""
    attempts = yield from _one_pass(context, ChunkBatch.from_json(context.get_input()))
    return BatchOutcome(tuple(attempts)).to_json()


def _record(context: df.DurableOrchestrationContext, manifest: Manifest) -> Generator[Any, Any, bool]:
    """Write the manifest and the catalog; False when storage refused it after the retries (the
    round is then tried again later: the verified chunks are carried, so that costs little)."""
    try:
        yield context.call_activity_with_retry(RECORD_ARCHIVE, record_retry(), manifest.to_json())
    except Exception:
        return False
    return True


def _wait_for_next_round(
    context: df.DurableOrchestrationContext, run: ArchiveRun, end: RoundEnd, manifest: Manifest
) -> Orchestration:
    """Wait on a Durable timer (never a sleeping activity) or a `wake`, then start the next round
    with what is verified, as a new execution: history does not grow with the rounds."""
    next_at = end.next_attempt_at or context.current_utc_datetime + timedelta(
        seconds=run.policy.wait_s(run.attempt)
    )
    _report(context, run, "retrying", replace(end, next_attempt_at=next_at))
    timer = context.create_timer(next_at)
    wake = context.wait_for_external_event(WAKE_EVENT)
    winner = yield context.task_any([timer, wake])
    if winner is not timer and not timer.is_completed:
        timer.cancel()  # type: ignore[attr-defined]  # TimerTask.cancel (azure-functions-durable 1.x)
    context.continue_as_new(replace(run, attempt=run.attempt + 1, unverified=end.unverified).to_json())


def _delete_source(
    context: df.DurableOrchestrationContext, manifest: Manifest
) -> Generator[Any, Any, Manifest]:
    """Delete the ACS copy of each verified chunk (the activity reads its archived blob back first),
    then record which went. A chunk whose copy could not be deleted keeps it, and says so."""
    retry = record_retry()
    chunks = manifest.source_deletable()
    tasks = [
        context.call_activity_with_retry(DELETE_SOURCE_CHUNK, retry, chunk.to_json()) for chunk in chunks
    ]
    with contextlib.suppress(Exception):  # each task's own outcome is read below
        yield context.task_all(tasks)
    deleted = {
        chunk.index
        for chunk, task in zip(chunks, tasks, strict=True)
        if task.is_completed and task.result in ("deleted", "alreadyGone")
    }
    updated = manifest.with_source_deleted(deleted)
    yield from _record(context, updated)
    return updated


def _report(
    context: df.DurableOrchestrationContext, run: ArchiveRun, phase: Phase, end: RoundEnd | None = None
) -> None:
    chunks: tuple[ArchivedChunk, ...] = run.verified
    unverified = end.unverified if end else run.unverified
    progress = ArchiveProgress(
        phase=phase,
        chunks_done=len(chunks),
        chunks_total=len(run.job.chunks),
        chunks_failed=len(unverified),
        bytes_done=sum(chunk.size for chunk in chunks),
        attempt=run.attempt,
        next_attempt_at=end.next_attempt_at.isoformat() if end and end.next_attempt_at else None,
        last_error=unverified[0].error if unverified else None,
    )
    context.set_custom_status(progress.to_json())
