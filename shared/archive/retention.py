"""Retention: archives older than `ARCHIVE_RETENTION_DAYS` are deleted and their catalog entries marked
`Expired`, by a daily timer. The same days drive the storage lifecycle rule (infra/main.bicep passes
`archiveDeleteAfterDays` to both), which deletes by blob creation time; whichever runs first, the other
finds nothing left to do. Dry run: report only, change nothing.

Never under a run: an archive whose orchestration is in flight is skipped, and the archive is first
claimed (`Expiring`, conditionally on the summary as read: a re-run that claimed it meanwhile wins),
so no run, re-run or manifest touches it while its blobs go, and `Expired` is final. Idempotent: a
run that broke off finds the archive `Expiring` and finishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError

from shared.archive.durable import DurableClient, current_runtime_status
from shared.archive.model import ArchiveSummary
from shared.archive.records import mark_expired, mark_expiring
from shared.archive.states import ENDED, IN_FLIGHT, ArchiveStatus
from shared.archive.store import archive_container
from shared.recording.catalog_index import MAX_PAGE_SIZE, CatalogQuery
from shared.recording.catalog_table import catalog
from shared.recording_ids import archive_instance_id
from shared.settings import Settings
from shared.times import as_utc, parse_time

_LOG = logging.getLogger(__name__)
SWEPT_STATUSES: Final = (*ENDED, ArchiveStatus.EXPIRING)


@dataclass(frozen=True)
class Due:
    recording_id: str
    archive: ArchiveSummary


def is_due(summary: ArchiveSummary, cutoff: datetime) -> bool:
    """Archived before the cutoff (as the lifecycle rule counts from the blobs' creation); an
    archive retention already claimed is always due."""
    if summary.status == ArchiveStatus.EXPIRING:
        return True
    return summary.archived_at is not None and as_utc(parse_time(summary.archived_at)) < cutoff


def due_archives(settings: Settings, cutoff: datetime) -> list[Due]:
    """Every archive past retention, from the catalog's archive-status index (no table scan)."""
    entries = catalog(settings)
    found: list[Due] = []
    for status in SWEPT_STATUSES:
        query = CatalogQuery("archiveStatus", status.value, None, cutoff, MAX_PAGE_SIZE)
        token: str | None = None
        while True:
            page, token = entries.query(query, token)
            for entry in page:
                archive = ArchiveSummary.from_json(entry["archive"])
                if archive.prefix and is_due(archive, cutoff):
                    found.append(Due(str(entry["recordingId"]), archive))
            if token is None:
                break
    return found


def expire(settings: Settings, due: Due, now: datetime) -> int | None:
    """Claim the archive, delete its blobs, mark it Expired; how many blobs went, None if a re-run
    claimed it first."""
    if not mark_expiring(settings, due.recording_id, due.archive, now):
        return None
    container = archive_container(settings)
    names = _blob_names(settings, due)
    for name in names:
        with contextlib.suppress(ResourceNotFoundError):
            container.delete_blob(name)
    mark_expired(settings, due.recording_id, now)
    return len(names)


def _blob_names(settings: Settings, due: Due) -> list[str]:
    container = archive_container(settings)
    return [blob.name for blob in container.list_blobs(name_starts_with=f"{due.archive.prefix}/")]


async def apply_retention(
    settings: Settings, client: DurableClient, now: datetime, *, dry_run: bool | None = None
) -> dict[str, Any]:
    """Delete (or, in a dry run, list) every archive past retention; a summary of what was done."""
    dry = settings.retention_dry_run if dry_run is None else dry_run
    report: dict[str, Any] = {
        "enabled": settings.retention_days > 0,
        "dryRun": dry,
        "recordings": [],
        "skipped": [],
    }
    if settings.retention_days <= 0:
        return report
    cutoff = now - timedelta(days=settings.retention_days)
    for due in await asyncio.to_thread(due_archives, settings, cutoff):
        runtime = await current_runtime_status(client, archive_instance_id(due.recording_id))
        if runtime in IN_FLIGHT:
            _LOG.info("Retention skipped %s: its archive is running", due.recording_id)
            report["skipped"].append({"recordingId": due.recording_id, "reason": "running"})
            continue
        if dry:
            names = await asyncio.to_thread(_blob_names, settings, due)
            report["recordings"].append({"recordingId": due.recording_id, "blobs": len(names)})
            continue
        blobs = await asyncio.to_thread(expire, settings, due, now)
        if blobs is None:
            report["skipped"].append({"recordingId": due.recording_id, "reason": "claimed by a re-run"})
        else:
            report["recordings"].append({"recordingId": due.recording_id, "blobs": blobs})
    _LOG.info(
        "Retention (%d days%s): %d archives %s, %d skipped",
        settings.retention_days,
        ", dry run" if dry else "",
        len(report["recordings"]),
        "would be deleted" if dry else "deleted",
        len(report["skipped"]),
    )
    return report
