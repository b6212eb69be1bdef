"""Retention: archives older than `ARCHIVE_RETENTION_DAYS` are deleted and their catalog entries marked
`Expired`, by a daily timer. The same days drive the storage lifecycle rule (infra/main.bicep passes
`archiveDeleteAfterDays` to both), which deletes by blob creation time; whichever runs first, the other
finds nothing left to do. Idempotent: a run after a crash deletes what is left and marks the entry; an
entry already `Expired` is no longer in the partitions read. Dry run: report only, change nothing.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any, Final

from azure.core.exceptions import ResourceNotFoundError

from shared.archive.model import ArchiveSummary
from shared.archive.records import mark_expired
from shared.archive.states import ArchiveStatus
from shared.archive.store import archive_container
from shared.recording.catalog_index import MAX_PAGE_SIZE, CatalogQuery
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from shared.times import as_utc, parse_time

_LOG = logging.getLogger(__name__)
SWEPT_STATUSES: Final = (ArchiveStatus.COMPLETED, ArchiveStatus.FAILED)


def is_due(summary: ArchiveSummary, cutoff: datetime) -> bool:
    """Archived before the cutoff: as the lifecycle rule counts from the blobs' creation."""
    return as_utc(parse_time(summary.archived_at)) < cutoff


def apply_retention(settings: Settings, now: datetime, *, dry_run: bool | None = None) -> dict[str, Any]:
    """Delete (or, in a dry run, list) every archive past retention; a summary of what was done."""
    dry = settings.retention_dry_run if dry_run is None else dry_run
    summary: dict[str, Any] = {"enabled": settings.retention_days > 0, "dryRun": dry, "recordings": []}
    if settings.retention_days <= 0:
        return summary
    cutoff = now - timedelta(days=settings.retention_days)
    entries, container = catalog(settings), archive_container(settings)
    for status in SWEPT_STATUSES:
        query = CatalogQuery("archiveStatus", status.value, None, cutoff, MAX_PAGE_SIZE)
        token: str | None = None
        while True:
            page, token = entries.query(query, token)
            for entry in page:
                archive = ArchiveSummary.from_json(entry["archive"])
                if not is_due(archive, cutoff):
                    continue
                names = [blob.name for blob in container.list_blobs(name_starts_with=archive.prefix + "/")]
                if not dry:
                    for name in names:
                        with contextlib.suppress(ResourceNotFoundError):
                            container.delete_blob(name)
                    mark_expired(settings, str(entry["recordingId"]), now)
                summary["recordings"].append({"recordingId": entry["recordingId"], "blobs": len(names)})
            if token is None:
                break
    _LOG.info(
        "Retention (%d days%s): %d archives %s",
        settings.retention_days,
        ", dry run" if dry else "",
        len(summary["recordings"]),
        "would be deleted" if dry else "deleted",
    )
    return summary
