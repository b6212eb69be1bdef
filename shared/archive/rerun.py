"""`POST /api/recordings/{id}/archive`: try an archive again now.

A Retrying archive is woken: its run stops waiting for its timer and starts its next round at once
(one run, never a second beside it). A Lost archive, or one whose run ended without a verdict (a
crash, an operator's terminate), is run again from the event stored when it arrived
(`{prefix}/event.json`). A running, completed or expired one is refused with 409.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from shared.archive.durable import DurableClient, current_runtime_status
from shared.archive.model import ArchiveJob
from shared.archive.orchestration import WAKE_EVENT
from shared.archive.records import archive_summary, no_archive, stored_job
from shared.archive.start import start_archive
from shared.archive.states import IN_FLIGHT, ArchiveStatus, RuntimeStatus
from shared.errors import STORAGE, ApiError, upstream
from shared.recording_ids import archive_instance_id
from shared.settings import Settings


@dataclass(frozen=True)
class RerunRefusal:
    """Why a re-run is refused (a 409 with this code and message)."""

    status: int
    code: str
    message: str


_RUNNING = RerunRefusal(
    HTTPStatus.CONFLICT, "ArchiveRunning", "An archive of this recording is running; wait for it."
)


def refusal(runtime: RuntimeStatus | None, archive: ArchiveStatus | None) -> RerunRefusal | None:
    """Why a re-run must not start now (pure): one running, one already verified, or one expired.
    (A Retrying archive is not refused: it is woken.)"""
    if runtime in IN_FLIGHT and archive != ArchiveStatus.RETRYING:
        return _RUNNING
    if archive == ArchiveStatus.EXPIRED:
        return RerunRefusal(
            HTTPStatus.CONFLICT,
            "ArchiveExpired",
            "This recording's archive was deleted by the retention policy; it is not archived again.",
        )
    if archive == ArchiveStatus.COMPLETED:
        return RerunRefusal(
            HTTPStatus.CONFLICT,
            "ArchiveCompleted",
            "The archive is complete and verified; nothing to re-run.",
        )
    return None


def _stored(settings: Settings, recording_id: str) -> tuple[ArchiveJob | None, ArchiveStatus | None]:
    with upstream(STORAGE):
        summary = archive_summary(settings, recording_id)
        return stored_job(settings, recording_id), (summary.status if summary else None)


async def rerun_archive(settings: Settings, client: DurableClient, recording_id: str) -> dict[str, Any]:
    """Start the archive again from its stored event, unless it runs, completed or expired."""
    instance_id = archive_instance_id(recording_id)
    runtime = await current_runtime_status(client, instance_id)
    job, archive = await asyncio.to_thread(_stored, settings, recording_id)
    refused = refusal(runtime, archive)
    if refused is not None:
        raise ApiError(refused.status, refused.code, refused.message)
    if runtime in IN_FLIGHT:  # Retrying: wake the run that waits
        await client.raise_event(instance_id, WAKE_EVENT, None)
        return {
            "recordingId": recording_id,
            "instanceId": instance_id,
            "previousRuntimeStatus": runtime,
            "woken": True,
        }
    if job is None:
        raise await asyncio.to_thread(
            no_archive, settings, recording_id, "No file event has been received for this recording yet."
        )
    outcome = await start_archive(settings, client, job, at=datetime.now(UTC), rerun=True)
    if outcome == "alreadyActive":  # a concurrent re-run or redelivery won the race
        raise ApiError(_RUNNING.status, _RUNNING.code, _RUNNING.message)
    if outcome == "notAllowed":  # it completed or expired since we looked
        raise ApiError(
            HTTPStatus.CONFLICT, "ArchiveNotRestartable", "The archive completed or expired meanwhile."
        )
    return {
        "recordingId": recording_id,
        "instanceId": instance_id,
        "previousRuntimeStatus": runtime,
        "woken": False,
    }
