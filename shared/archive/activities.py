"""The bodies of the archive's Durable activities, and the event's first write: clients from
settings, then the work. The orchestrator (shared.archive.orchestration) decides; these do."""

from __future__ import annotations

import logging
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError

from shared.archive.events import ArchiveJob, ChunkJob
from shared.archive.manifest import Manifest
from shared.archive.store import archive_container, read_manifest, write_job, write_manifest
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.recording.catalog_table import catalog
from shared.settings import Settings

_LOG = logging.getLogger(__name__)
TRANSFER_OPTIONS: Final = TransferOptions()


def run_archive_chunk(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """`archive_chunk`: one chunk's content and metadata into the archive, verified."""
    chunk = ChunkJob.from_json(payload["chunk"])
    result = archive_chunk(
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


def record_archive(settings: Settings, document: dict[str, Any]) -> None:
    """`record_archive`: write the manifest and the catalog's summary of it."""
    manifest = Manifest.from_json(document)
    if not manifest.may_replace(read_manifest(settings, manifest.blob_name)):
        _LOG.warning(
            "Kept the completed manifest %s; the re-run's %s result is not recorded",
            manifest.blob_name,
            manifest.status,
        )
        return
    write_manifest(settings, manifest)
    if manifest.recording_id:
        catalog(settings).record_archive(
            manifest.recording_id,
            manifest.catalog_summary(settings.archive_container),
            created_at=manifest.recording_start_time or None,
        )


def delete_source_chunk(settings: Settings, delete_location: str) -> bool:
    """`delete_source_chunk`: delete one chunk's ACS copy; True if deleted now, False if already gone."""
    try:
        call_automation_client(settings.acs).delete_recording(delete_location)
    except ResourceNotFoundError:
        return False
    return True


def store_job(settings: Settings, job: ArchiveJob) -> str:
    """Keep the event's job and point the catalog at it, so `POST .../archive` can re-run it without
    waiting for Event Grid."""
    name = write_job(settings, job)
    if job.recording_id:
        catalog(settings).record_event(job.recording_id, name, created_at=job.start_time)
    return name
