"""The I/O behind the archive activities and routes: clients from settings, then do the work."""

from __future__ import annotations

import contextlib
import json
import logging
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from shared.archive_jobs import ArchiveJob, ChunkJob
from shared.blob_layout import event_blob_name, recording_prefix
from shared.clients import blob_service_client, call_automation_client
from shared.recordings import catalog
from shared.settings import Settings, StorageConnection
from shared.transfer import ChunkArchive, TransferOptions, archive_chunk

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

_LOG = logging.getLogger(__name__)
TRANSFER_OPTIONS: Final = TransferOptions()


@cache
def _container(storage: StorageConnection, name: str) -> ContainerClient:
    container = blob_service_client(storage).get_container_client(name)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    return container


def archive_container(settings: Settings) -> ContainerClient:
    """The archive container, created on first use in this worker."""
    return _container(settings.storage, settings.archive_container)


def reset_containers() -> None:
    _container.cache_clear()


def run_archive_chunk(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    chunk = ChunkJob.from_json(payload["chunk"])
    result: ChunkArchive = archive_chunk(
        chunk,
        prefix=str(payload["prefix"]),
        format_hint=payload.get("formatHint"),
        acs=call_automation_client(settings.acs),
        container=archive_container(settings),
        options=TRANSFER_OPTIONS,
    )
    _LOG.info(
        "Chunk %s archived: %s bytes%s",
        chunk.index,
        result.size,
        " (already archived)" if result.skipped else "",
    )
    return result.to_json()


def record_archive(settings: Settings, manifest: dict[str, Any]) -> None:
    """Write the manifest (a status document, rewritten as the archive progresses) and the catalog."""
    from azure.storage.blob import ContentSettings

    previous = read_manifest(settings, manifest["manifestBlobName"])
    if previous is not None and previous.get("status") == "Completed" and manifest["status"] != "Completed":
        # A re-run that failed (e.g. its ACS copy expired) must not erase the record of a verified archive.
        _LOG.warning(
            "Kept the completed manifest %s; the re-run's %s result is not recorded",
            manifest["manifestBlobName"],
            manifest["status"],
        )
        return
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    archive_container(settings).upload_blob(
        manifest["manifestBlobName"],
        body,
        overwrite=True,
        content_settings=ContentSettings(content_type="application/json"),
    )
    if manifest.get("recordingId"):
        catalog(settings).record_archive(
            manifest["recordingId"],
            {
                "status": manifest["status"],
                "manifestBlobName": manifest["manifestBlobName"],
                "container": settings.archive_container,
                "chunks": len(manifest["chunks"]),
                "bytes": manifest["totalBytes"],
                "sourceDeletion": manifest["sourceDeletion"],
                "archivedAt": manifest.get("recordedAt"),
            },
            created_at=manifest.get("recordingStartTime"),
        )


def read_manifest(settings: Settings, blob_name: str) -> dict[str, Any] | None:
    try:
        raw = archive_container(settings).download_blob(blob_name).readall()
    except ResourceNotFoundError:
        return None
    manifest: dict[str, Any] = json.loads(raw)
    return manifest


def delete_source_chunk(settings: Settings, delete_location: str) -> bool:
    """Delete one chunk's ACS copy; True if deleted now, False if it was already gone."""
    try:
        call_automation_client(settings.acs).delete_recording(delete_location)
    except ResourceNotFoundError:
        return False
    return True


def store_job(settings: Settings, job: ArchiveJob) -> str:
    """Keep the validated job beside its archive (written once: a redelivery rewrites nothing) and point
    the catalog at it, so `POST .../archive` can re-run it without waiting for Event Grid."""
    from azure.storage.blob import ContentSettings

    name = event_blob_name(recording_prefix(job.start_time, job.recording_key))
    body = json.dumps(job.to_json(), indent=2, sort_keys=True).encode()
    with contextlib.suppress(ResourceExistsError):
        archive_container(settings).upload_blob(
            name, body, overwrite=False, content_settings=ContentSettings(content_type="application/json")
        )
    if job.recording_id:
        catalog(settings).record_event(job.recording_id, name, created_at=job.start_time)
    return name


def read_job(settings: Settings, blob_name: str) -> ArchiveJob | None:
    try:
        raw = archive_container(settings).download_blob(blob_name).readall()
    except ResourceNotFoundError:
        return None
    return ArchiveJob.from_json(json.loads(raw))
