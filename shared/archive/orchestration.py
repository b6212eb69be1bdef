"""The archive orchestrator: deterministic (no clocks, no I/O, no randomness), replay-safe.

Fan out one activity per chunk (with retries), fan in while publishing progress as custom
status, record the manifest and catalog, then - only if the whole archive is verified and
deletion is enabled - delete the ACS copy of each verified chunk.

Every completion replays the orchestration's whole history, so one orchestration of n chunks
costs O(n^2). A recording of more than BATCH_CHUNKS chunks is therefore archived by
sub-orchestrations of BATCH_CHUNKS chunks each (ARCHIVE_BATCH), BATCHES_AT_ONCE at a time: each
replays only its own batch, the parent one event per batch (benchmarks/README.md, fan-out).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Final

import azure.durable_functions as df

from shared.archive.blob_layout import recording_prefix
from shared.archive.events import ArchiveJob
from shared.archive.manifest import build_manifest
from shared.archive.transfer import ChunkArchive

ARCHIVE_CHUNK: Final = "archive_chunk"
RECORD_ARCHIVE: Final = "record_archive"
DELETE_SOURCE_CHUNK: Final = "delete_source_chunk"
ORCHESTRATOR: Final = "archive_recording"
ARCHIVE_BATCH: Final = "archive_chunk_batch"  # sub-orchestrator: one batch of a long recording
FAN_OUT_WAVE: Final = 8  # chunks archived in parallel per wave; progress is reported per wave
BATCH_CHUNKS: Final = 32  # up to this many chunks fan out in-line; more go in batches of this size
BATCHES_AT_ONCE: Final = 2  # batches in flight together; progress is reported per wave of batches


def chunk_retry() -> df.RetryOptions:
    """5 attempts, 5 s apart. (The Python SDK sends only these two knobs to the extension; a
    backoff coefficient set on RetryOptions would be silently dropped. Per-range retries inside
    the activity handle short hiccups; these handle crashes and longer outages.)"""
    return df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=5)


def orchestration_input(job: ArchiveJob, *, delete_source: bool) -> dict[str, Any]:
    """The orchestrator's input: the validated job, and whether to delete the ACS copy once verified."""
    return {"job": job.to_json(), "deleteSource": delete_source}


def progress(phase: str, done: int, total: int, bytes_done: int, failed: int = 0) -> dict[str, Any]:
    """The custom status `GET .../archive` shows while the archive runs."""
    return {
        "phase": phase,
        "chunksDone": done,
        "chunksTotal": total,
        "chunksFailed": failed,
        "bytesDone": bytes_done,
    }


def waves(count: int, size: int) -> list[range]:
    """Chunk indexes in fan-out waves: `waves(10, 4)` -> [0..3], [4..7], [8..9]."""
    return [range(first, min(first + size, count)) for first in range(0, count, size)]


def archive_orchestration(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Archive every chunk, record the manifest, then (if asked and verified) delete the ACS copy."""
    payload = context.get_input()
    job = ArchiveJob.from_json(payload["job"])
    delete_source = bool(payload.get("deleteSource"))
    prefix = recording_prefix(job.start_time, job.recording_key)
    total = len(job.chunks)
    retry = chunk_retry()
    archived: list[dict[str, Any]] = []
    errors: list[str] = []
    context.set_custom_status(progress("archiving", 0, total, 0))

    def report() -> None:
        done_bytes = sum(int(a["size"]) for a in archived)
        context.set_custom_status(progress("archiving", len(archived), total, done_bytes, len(errors)))

    chunks = [chunk.to_json() for chunk in job.chunks]
    if total <= BATCH_CHUNKS:
        yield from _archive_in_waves(
            context, batch_input(chunks, prefix, job.format_hint), archived, errors, report
        )
    else:
        yield from _archive_in_batches(context, chunks, prefix, job.format_hint, archived, errors, report)
    manifest = build_manifest(
        job,
        prefix=prefix,
        instance_id=context.instance_id,
        recorded_at=context.current_utc_datetime,
        archived=[ChunkArchive.from_json(item) for item in archived],
        errors=errors,
        delete_source=delete_source,
    )
    yield context.call_activity_with_retry(RECORD_ARCHIVE, retry, manifest.to_json())
    if not manifest.verified:
        context.set_custom_status(
            progress("failed", len(manifest.chunks), total, manifest.total_bytes, len(errors))
        )
        raise RuntimeError(f"chunks could not be archived: {errors[0] if errors else 'incomplete'}")
    if delete_source:
        context.set_custom_status(progress("deletingSource", total, total, manifest.total_bytes))
        deletions = [
            context.call_activity_with_retry(
                DELETE_SOURCE_CHUNK, retry, {"deleteLocation": chunk.delete_location}
            )
            for chunk in manifest.source_deletable()
        ]
        yield context.task_all(deletions)
        manifest = manifest.with_source_deleted()
        yield context.call_activity_with_retry(RECORD_ARCHIVE, retry, manifest.to_json())
    context.set_custom_status(progress("done", total, total, manifest.total_bytes))
    return {"manifest": manifest.blob_name, "chunks": total, "bytes": manifest.total_bytes}


def batch_input(chunks: list[dict[str, Any]], prefix: str, format_hint: str | None) -> dict[str, Any]:
    return {"chunks": chunks, "prefix": prefix, "formatHint": format_hint}


def _archive_in_waves(
    context: df.DurableOrchestrationContext,
    batch: dict[str, Any],
    archived: list[dict[str, Any]],
    errors: list[str],
    report: Callable[[], None],
) -> Generator[Any, Any, None]:
    """Archive `batch`'s chunks in waves into `archived`; stop at the first chunk that failed.

    Each wave is one task_all over fresh tasks: the replay-safe fan-out/fan-in. (Re-yielding
    task_any over tasks already scheduled makes the action list depend on timing; see README.)"""
    retry = chunk_retry()
    chunks = batch["chunks"]
    for wave in waves(len(chunks), FAN_OUT_WAVE):
        tasks = [
            context.call_activity_with_retry(
                ARCHIVE_CHUNK,
                retry,
                {"chunk": chunks[i], "prefix": batch["prefix"], "formatHint": batch["formatHint"]},
            )
            for i in wave
        ]
        try:
            archived.extend((yield context.task_all(tasks)))
        except Exception as error:  # the first chunk that failed after all its retries
            errors.append(str(error)[:500])
            archived.extend(t.result for t in tasks if t.is_completed and not isinstance(t.result, Exception))
            break
        finally:
            report()


def _archive_in_batches(
    context: df.DurableOrchestrationContext,
    chunks: list[dict[str, Any]],
    prefix: str,
    format_hint: str | None,
    archived: list[dict[str, Any]],
    errors: list[str],
    report: Callable[[], None],
) -> Generator[Any, Any, None]:
    """A long recording: sub-orchestrations of BATCH_CHUNKS chunks, in waves of BATCHES_AT_ONCE.

    Child instance ids come from the parent's id and new_uuid() (deterministic under replay, new for
    each run), so a re-run never collides with the children of an earlier run."""
    batches = [chunks[first : first + BATCH_CHUNKS] for first in range(0, len(chunks), BATCH_CHUNKS)]
    run = str(context.new_uuid())[:8]
    for wave in waves(len(batches), BATCHES_AT_ONCE):
        tasks = [
            context.call_sub_orchestrator(
                ARCHIVE_BATCH,
                batch_input(batches[b], prefix, format_hint),
                instance_id=f"{context.instance_id}:{run}:{b:04d}",
            )
            for b in wave
        ]
        try:
            results = yield context.task_all(tasks)
        except Exception as error:  # a batch orchestration itself failed (not one of its chunks)
            errors.append(str(error)[:500])
            results = [t.result for t in tasks if t.is_completed and not isinstance(t.result, Exception)]
        for result in results:
            archived.extend(result["archived"])
            errors.extend(result["errors"])
        report()
        if errors:
            break


def archive_batch_orchestration(
    context: df.DurableOrchestrationContext,
) -> Generator[Any, Any, dict[str, Any]]:
    """One batch of a long recording: its chunks in waves; what was archived, and the first error."""
    archived: list[dict[str, Any]] = []
    errors: list[str] = []
    yield from _archive_in_waves(context, context.get_input(), archived, errors, lambda: None)
    return {"archived": archived, "errors": errors}
