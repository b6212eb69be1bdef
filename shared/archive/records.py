"""What the catalog knows of a recording's archive: the summary, its status word, the stored job.

The recording wing's catalog (shared.recording.catalog) owns the entity and its conditional
update; the archive's fields are written here, through `Catalog.update`, and read back typed. The
manifest and the job themselves are blobs (shared.archive.store); the catalog points at them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from shared.archive.model import ArchiveJob, ArchiveSummary, Manifest
from shared.archive.states import ArchiveStatus
from shared.archive.store import read_job, read_manifest, write_job, write_manifest
from shared.errors import STORAGE, upstream
from shared.recording.catalog_table import catalog
from shared.settings import Settings

_LOG = logging.getLogger(__name__)
_SUMMARY: Final = "archive"  # the summary, as JSON (shown as the catalog entry's `archive`)
_STATUS: Final = "archiveStatus"  # the summary's status again, as the word the index files it under
_JOB: Final = "archiveEvent"  # the blob name of the stored job


def summary_fields(summary: ArchiveSummary) -> dict[str, Any]:
    """The entity fields that hold `summary`."""
    return {
        _SUMMARY: json.dumps(summary.to_json(), separators=(",", ":")),
        _STATUS: summary.status.value,
    }


def summary_of(entity: dict[str, Any] | None) -> ArchiveSummary | None:
    """The archive summary an entity holds, or None when nothing was archived."""
    raw = (entity or {}).get(_SUMMARY)
    return ArchiveSummary.from_json(json.loads(raw)) if raw else None


def record_job(settings: Settings, job: ArchiveJob) -> None:
    """Keep the event's job and point the catalog at it, so `POST .../archive` can re-run it without
    waiting for Event Grid."""
    write_job(settings, job)
    if job.recording_id:
        catalog(settings).update(
            job.recording_id, lambda _: {_JOB: job.event_blob_name}, created_at=job.start_time
        )


def record_manifest(settings: Settings, manifest: Manifest) -> None:
    """Write the manifest and the catalog's summary of it, unless it would replace a better one."""
    if not manifest.may_replace(read_manifest(settings, manifest.blob_name)):
        _LOG.warning(
            "Kept the completed manifest %s; the re-run's %s result is not recorded",
            manifest.blob_name,
            manifest.status,
        )
        return
    write_manifest(settings, manifest)
    if manifest.recording_id:
        fields = summary_fields(manifest.summary(settings.archive_container))
        catalog(settings).update(
            manifest.recording_id, lambda _: fields, created_at=manifest.recording_start_time or None
        )


def mark_expired(settings: Settings, recording_id: str, at: datetime) -> None:
    """Retention deleted the archive: its status becomes `Expired` (idempotent)."""

    def expire(entity: dict[str, Any]) -> dict[str, Any]:
        summary = summary_of(entity)
        if summary is None or summary.status == ArchiveStatus.EXPIRED:
            return {}
        expired = replace(
            summary, status=ArchiveStatus.EXPIRED, expired_at=at.isoformat(), previous_status=summary.status
        )
        return summary_fields(expired)

    catalog(settings).update(recording_id, expire, create=False)


def archive_summary(settings: Settings, recording_id: str) -> ArchiveSummary | None:
    """The recording's archive summary; None when it has none."""
    return summary_of(catalog(settings).read(recording_id))


def stored_job(settings: Settings, recording_id: str) -> ArchiveJob | None:
    """The job stored when the recording's file event arrived; None if none arrived."""
    entity = catalog(settings).read(recording_id)
    name = (entity or {}).get(_JOB)
    return read_job(settings, str(name)) if name else None


def recording_manifest(settings: Settings, recording_id: str) -> Manifest | None:
    """The stored manifest of a recording's archive, found through the catalog; None if it has none.
    Storage failures are answered as Azure Storage's (the catalog is the answer here)."""
    with upstream(STORAGE):
        summary = archive_summary(settings, recording_id)
        return read_manifest(settings, summary.manifest_blob_name) if summary else None
