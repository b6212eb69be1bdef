"""`GET .../archive`: where the archive stands (our status, since when, and for Retrying the attempt,
the next attempt's time and the last error), the orchestration's status in Durable's own words,
and the stored manifest."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from shared.archive.durable import DurableClient
from shared.archive.model import ArchiveProgress, ArchiveSummary
from shared.archive.records import missing_archive, stored_archive
from shared.archive.states import ArchiveStatus, runtime_status
from shared.recording_ids import archive_instance_id
from shared.settings import Settings


async def archive_status(settings: Settings, client: DurableClient, recording_id: str) -> dict[str, Any]:
    """The archive's status; 404 when nothing is known of one (no stop, no event, no run)."""
    instance_id = archive_instance_id(recording_id)
    status = await client.get_status(instance_id)
    runtime = runtime_status(status.runtime_status)
    # off the event loop: the catalog and blob reads block
    stored = await asyncio.to_thread(stored_archive, settings, recording_id)
    summary, manifest = stored.summary, stored.manifest
    if runtime is None and manifest is None and summary is None:
        raise missing_archive(stored.known, "No archive exists for this recording yet.")
    attempt, next_at, last_error = _retrying(summary, _progress(status.custom_status) if runtime else None)
    return {
        "recordingId": recording_id,
        "instanceId": instance_id,
        "status": summary.status if summary else None,
        "since": summary.since if summary else None,
        "attempt": attempt,
        "nextAttemptAt": next_at,
        "lastError": last_error,
        "runtimeStatus": runtime,
        "customStatus": status.custom_status if runtime else None,
        "createdTime": _time(status.created_time) if runtime else None,
        "lastUpdatedTime": _time(status.last_updated_time) if runtime else None,
        "manifest": manifest.document() if manifest else None,
    }


def _retrying(
    summary: ArchiveSummary | None, progress: ArchiveProgress | None
) -> tuple[int | None, str | None, str | None]:
    """(attempt, next attempt's time, last error): the run's own progress while it runs, else what
    the catalog recorded; the next attempt only while Retrying, the error only while unfinished."""
    if summary is None:
        return None, None, None
    attempt = progress.attempt if progress else summary.attempt
    retrying = summary.status == ArchiveStatus.RETRYING
    next_at = (progress.next_attempt_at if progress else None) or summary.next_attempt_at
    error = summary.last_error if summary.status != ArchiveStatus.COMPLETED else None
    return attempt, next_at if retrying else None, error


def _progress(custom_status: object) -> ArchiveProgress | None:
    try:
        return ArchiveProgress.from_json(custom_status) if custom_status else None
    except ValueError:
        return None


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
