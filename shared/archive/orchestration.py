"""The archive orchestrator: deterministic (no clocks, no I/O, no randomness), replay-safe.

Fan out one activity per chunk (with retries), fan in while publishing progress as custom
status, record the manifest and catalog, then - only if the whole archive is verified and
deletion is enabled - delete the ACS copy of each verified chunk.
"""

from __future__ import annotations

from collections.abc import Generator
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
FAN_OUT_WAVE: Final = 8  # chunks archived in parallel per wave; progress is reported per wave


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
    # Each wave is one task_all over fresh tasks: the replay-safe fan-out/fan-in. (Re-yielding
    # task_any over tasks already scheduled makes the action list depend on timing; see README.)
    for wave in waves(total, FAN_OUT_WAVE):
        tasks = [
            context.call_activity_with_retry(
                ARCHIVE_CHUNK,
                retry,
                {"chunk": job.chunks[i].to_json(), "prefix": prefix, "formatHint": job.format_hint},
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
            done_bytes = sum(int(a["size"]) for a in archived)
            context.set_custom_status(progress("archiving", len(archived), total, done_bytes, len(errors)))
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
