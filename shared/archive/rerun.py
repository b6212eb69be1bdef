"""`POST /api/recordings/{id}/archive`: run a failed or incomplete archive again from its stored event.

Event Grid redelivers for at most 24 hours and only while our endpoint fails; an archive that failed
after the event was accepted (ACS throttled, a chunk kept breaking off) needs a way to be started again
by hand. The job comes from the event stored when it arrived (`{prefix}/event.json`); for archives
started before events were stored, from the Durable instance's own input, while its history lasts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final

from shared.archive.events import ArchiveJob
from shared.archive.start import runtime_status_name, start_archive
from shared.archive.store import read_job
from shared.errors import STORAGE, ApiError, not_found, upstream
from shared.recording.catalog_table import catalog
from shared.recording_ids import archive_instance_id
from shared.settings import Settings

RUNNING_STATES: Final = frozenset({"Pending", "Running", "ContinuedAsNew", "Suspended"})


@dataclass(frozen=True)
class RerunRefusal:
    """Why a re-run is refused (a 409 with this code and message)."""

    status: int
    code: str
    message: str


def refusal(runtime_status: str | None, archive_status: str | None) -> RerunRefusal | None:
    """Why a re-run must not start now (pure): one running, one already verified, or one expired."""
    if runtime_status in RUNNING_STATES:
        return RerunRefusal(
            HTTPStatus.CONFLICT, "ArchiveRunning", "An archive of this recording is running; wait for it."
        )
    if archive_status == "Expired":
        return RerunRefusal(
            HTTPStatus.CONFLICT,
            "ArchiveExpired",
            "This recording's archive was deleted by the retention policy; it is not archived again.",
        )
    if archive_status == "Completed" or runtime_status == "Completed":
        return RerunRefusal(
            HTTPStatus.CONFLICT,
            "ArchiveCompleted",
            "The archive is complete and verified; nothing to re-run.",
        )
    return None


def _stored(settings: Settings, recording_id: str) -> tuple[ArchiveJob | None, str | None]:
    with upstream(STORAGE):
        entries = catalog(settings)
        archive = entries.archive_of(recording_id)
        event_blob = entries.event_of(recording_id)
        job = read_job(settings, event_blob) if event_blob else None
    return job, (str(archive.get("status")) if archive else None)


async def rerun_archive(settings: Settings, client: Any, recording_id: str) -> dict[str, Any]:
    """Start the archive again from its stored event, unless it runs, completed or expired."""
    instance_id = archive_instance_id(recording_id)
    status = await client.get_status(instance_id, show_input=True)
    runtime = runtime_status_name(status)
    job, archive_status = await asyncio.to_thread(_stored, settings, recording_id)
    refused = refusal(runtime, archive_status)
    if refused is not None:
        raise ApiError(refused.status, refused.code, refused.message)
    if job is None:
        job = _job_from_instance_input(getattr(status, "input_", None) if runtime else None)
    if job is None:
        raise not_found("No archive event has been received for this recording.", "recordingId")
    outcome = await start_archive(client, job, delete_source=settings.archive_delete_source)
    if outcome == "alreadyActive":  # a concurrent re-run or redelivery won the race
        raise ApiError(
            HTTPStatus.CONFLICT, "ArchiveRunning", "An archive of this recording is running; wait for it."
        )
    return {"recordingId": recording_id, "instanceId": instance_id, "previousRuntimeStatus": runtime}


def _job_from_instance_input(value: Any) -> ArchiveJob | None:
    """The job in an orchestration's input (`{"job": ..., "deleteSource": ...}`), if it is one."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or not isinstance(value.get("job"), dict):
        return None
    try:
        return ArchiveJob.from_json(value["job"])
    except (KeyError, TypeError, ValueError):
        return None
