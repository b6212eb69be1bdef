"""The archive routes: status in Durable's own words plus the manifest; deleting the ACS copy."""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

from shared.archive_service import delete_source_chunk, read_manifest, record_archive
from shared.archive_start import runtime_status_name
from shared.errors import ACS, STORAGE, ApiError, not_found, upstream
from shared.recording_hosts import recording_url_problem
from shared.recording_ids import archive_instance_id
from shared.recordings import catalog
from shared.settings import Settings


def _manifest_of(settings: Settings, recording_id: str) -> dict[str, Any] | None:
    with upstream(STORAGE):
        archive = catalog(settings).archive_of(recording_id)
        return read_manifest(settings, str(archive["manifestBlobName"])) if archive else None


async def archive_status(settings: Settings, client: Any, recording_id: str) -> dict[str, Any]:
    instance_id = archive_instance_id(recording_id)
    status = await client.get_status(instance_id)
    runtime = runtime_status_name(status)
    manifest = await asyncio.to_thread(_manifest_of, settings, recording_id)  # keep the loop free
    if runtime is None and manifest is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    return {
        "recordingId": recording_id,
        "instanceId": instance_id,
        "runtimeStatus": runtime,
        "customStatus": getattr(status, "custom_status", None) if runtime else None,
        "createdTime": _time(getattr(status, "created_time", None)) if runtime else None,
        "lastUpdatedTime": _time(getattr(status, "last_updated_time", None)) if runtime else None,
        "manifest": manifest,
    }


def delete_archived_source(settings: Settings, recording_id: str) -> dict[str, Any]:
    """Delete the ACS copy of every chunk - only when the archive is complete and verified."""
    manifest = _manifest_of(settings, recording_id)
    if manifest is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    complete = manifest.get("status") == "Completed" and len(manifest["chunks"]) == manifest.get(
        "chunksExpected"
    )
    if not complete or not all(chunk.get("sha256") for chunk in manifest["chunks"]):
        raise ApiError(
            HTTPStatus.CONFLICT,
            "ArchiveNotVerified",
            "The archive is not complete and verified; the ACS copy is the only copy and is kept.",
        )
    deleted = already_gone = 0
    chunks = []
    for chunk in manifest["chunks"]:
        location = chunk.get("deleteLocation")
        if location and not chunk.get("sourceDeleted"):
            if recording_url_problem(location) is not None:
                raise ApiError(
                    HTTPStatus.CONFLICT,
                    "InvalidDeleteLocation",
                    "The manifest's delete location is not an ACS recording URL.",
                )
            with upstream(ACS):
                if delete_source_chunk(settings, location):
                    deleted += 1
                else:
                    already_gone += 1
            chunk = {**chunk, "sourceDeleted": True}
        chunks.append(chunk)
    updated = {**manifest, "chunks": chunks, "sourceDeletion": "deleted"}
    with upstream(STORAGE):
        record_archive(settings, updated)
    return {"recordingId": recording_id, "deleted": deleted, "alreadyGone": already_gone}


def _time(value: Any) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else (str(value) if value else None)
