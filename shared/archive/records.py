"""What the catalog knows of a recording's archive: its status (since when), the summary, the job.

The recording wing's catalog (shared.recording.catalog) owns the entity and its conditional
update; the archive's fields are written here, through `Catalog.update`, and read back typed.
Every status write goes through the lifecycle (shared.archive.states.may_become), read and
written under one ETag: a late, duplicate or racing writer cannot move a recording backwards, and
`Expired` is final. The lifecycle events a change makes (shared.archive.lifecycle_events) are kept
in the same transaction (shared.events.outbox). The manifest and the job themselves are blobs
(shared.archive.store).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from shared.archive.lifecycle_events import announcements
from shared.archive.model import ArchiveJob, ArchiveSummary, Manifest
from shared.archive.states import IN_FLIGHT_STATUSES, ArchiveStatus, may_become
from shared.archive.store import read_job, read_manifest, write_job, write_manifest
from shared.errors import STORAGE, ApiError, not_found, upstream
from shared.events.catalogue import Announcement
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from shared.times import as_utc, parse_time

_LOG = logging.getLogger(__name__)
_SUMMARY: Final = "archive"  # the summary, as JSON (shown as the catalog entry's `archive`)
_STATUS: Final = "archiveStatus"  # the summary's status again, as the word the index files it under
_SINCE: Final = "archiveStatusSince"  # when it entered that status (the index's oldest-first order)
_JOB: Final = "archiveEvent"  # the blob name of the stored job

Change = Callable[[ArchiveSummary | None], ArchiveSummary | None]


def summary_fields(summary: ArchiveSummary) -> dict[str, Any]:
    """The entity fields that hold `summary`."""
    return {
        _SUMMARY: json.dumps(summary.to_json(), separators=(",", ":")),
        _STATUS: summary.status.value,
        _SINCE: summary.since,
    }


def summary_of(entity: dict[str, Any] | None) -> ArchiveSummary | None:
    """The archive summary an entity holds, or None when it has none."""
    raw = (entity or {}).get(_SUMMARY)
    return ArchiveSummary.from_json(json.loads(raw)) if raw else None


def moved(current: ArchiveSummary | None, new: ArchiveSummary) -> ArchiveSummary | None:
    """`new` if the lifecycle allows it after `current` (keeping `since` when the status stays);
    None when it does not."""
    status = current.status if current else None
    if not may_become(status, new.status):
        return None
    if current is not None and current.status == new.status:
        return replace(new, since=current.since)
    return new


def _apply(
    settings: Settings,
    recording_id: str,
    change: Change,
    *,
    created_at: str | None = None,
    extra: dict[str, Any] | None = None,
    manifest: Manifest | None = None,
    stopped_at: str | None = None,
) -> bool:
    """Write the summary `change` makes of the current one (None: nothing to write), with the
    lifecycle events the move makes."""

    def fields(entity: dict[str, Any]) -> dict[str, Any]:
        new = change(summary_of(entity))
        return {**summary_fields(new), **(extra or {})} if new is not None else {}

    def announce(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Announcement]:
        new = summary_of(after)
        if new is None:
            return []
        old = summary_of(before)
        return announcements(recording_id, old, new, manifest=manifest, stopped_at=stopped_at)

    return catalog(settings).update(recording_id, fields, created_at=created_at, announce=announce)


def expect_files(settings: Settings, recording_id: str, at: datetime) -> bool:
    """The recording stopped: its file event is due. AwaitingFiles, unless it moved on already."""
    awaiting = ArchiveSummary(ArchiveStatus.AWAITING_FILES, since=at.isoformat())
    # dated, so a recording the catalog first hears of here is indexed (and so listed and watched)
    return _apply(settings, recording_id, lambda current: moved(current, awaiting), created_at=at.isoformat())


def files_due_after_stop(settings: Settings, recording_id: str, at: datetime) -> None:
    """Best-effort, after ACS stopped the recording (a failure here must not turn a done stop into an
    error a client would retry): a write that fails is logged, and the watch still notices the stop
    through the recording's `inactive` state (shared.archive.watch)."""
    try:
        expect_files(settings, recording_id, at)
    except Exception as error:
        _LOG.error(
            "Recording %s stopped, but marking its files as awaited failed: %s",
            recording_id,
            type(error).__name__,
        )


def mark_overdue(settings: Settings, recording_id: str, awaiting_since: str, at: datetime) -> bool:
    """Still AwaitingFiles since `awaiting_since`: Overdue. False if it moved on meanwhile."""

    def overdue(current: ArchiveSummary | None) -> ArchiveSummary | None:
        if (
            current is None
            or current.status != ArchiveStatus.AWAITING_FILES
            or current.since != awaiting_since
        ):
            return None
        return ArchiveSummary(ArchiveStatus.OVERDUE, since=at.isoformat())

    return _apply(settings, recording_id, overdue)


def claim_archive(settings: Settings, job: ArchiveJob, at: datetime) -> bool:
    """Keep the event's job and mark the recording Archiving before a run starts, so a re-run or a
    redelivery can start from it. False when the lifecycle forbids a run now (Completed, Expired):
    start nothing then. An archive in flight (Archiving, Retrying) is left as it is: True, and the
    runtime's status decides whether anything starts. An archive the event cannot name (no
    recording id) has no catalog entry and may always run."""
    write_job(settings, job)
    if not job.recording_id:
        return True
    archiving = ArchiveSummary(ArchiveStatus.ARCHIVING, since=at.isoformat(), prefix=job.prefix)

    def claim(current: ArchiveSummary | None) -> ArchiveSummary | None:
        if current is not None and current.status in IN_FLIGHT_STATUSES:
            return None
        return moved(current, archiving)

    job_field = {_JOB: job.event_blob_name}
    stopped = _stopped_at(job)
    if _apply(
        settings, job.recording_id, claim, created_at=job.start_time, extra=job_field, stopped_at=stopped
    ):
        return True
    summary = archive_summary(settings, job.recording_id)
    return summary is not None and summary.status in IN_FLIGHT_STATUSES


def _stopped_at(job: ArchiveJob) -> str | None:
    """When the recording stopped, as its file event tells it: start time plus duration."""
    if job.duration_ms is None:
        return None
    try:
        start = as_utc(parse_time(job.start_time))
    except ValueError:
        return None
    return (start + timedelta(milliseconds=job.duration_ms)).isoformat()


def record_manifest(settings: Settings, manifest: Manifest) -> bool:
    """Write the manifest and the catalog's summary of it, if the lifecycle allows its status now
    (a late run can neither undo a Completed archive nor revive an Expired one). False if refused."""
    if not manifest.recording_id:  # no catalog entry: the stored manifest is the only record
        if not manifest.may_replace(read_manifest(settings, manifest.blob_name)):
            _LOG.warning(
                "Kept the completed manifest %s; a %s one is not", manifest.blob_name, manifest.status
            )
            return False
        write_manifest(settings, manifest)
        return True
    new = manifest.summary(settings.archive_container, since=manifest.recorded_at)
    written = _apply(
        settings,
        manifest.recording_id,
        lambda current: moved(current, new),
        created_at=manifest.recording_start_time or None,
        manifest=manifest,
    )
    if not written:
        current = archive_summary(settings, manifest.recording_id)
        _LOG.warning(
            "Archive %s is %s; its %s manifest is not recorded",
            manifest.instance_id,
            current.status if current else "unknown",
            manifest.status,
        )
        return False
    write_manifest(settings, manifest)
    return True


def mark_expiring(settings: Settings, recording_id: str, expected: ArchiveSummary, at: datetime) -> bool:
    """Retention is about to delete the archive it read as `expected`: Expiring, and from then on no
    run, re-run or manifest touches it. False (retention deletes nothing) if it changed since it
    was read: a re-run claimed it."""

    def expiring(current: ArchiveSummary | None) -> ArchiveSummary | None:
        if current != expected or current is None or not may_become(current.status, ArchiveStatus.EXPIRING):
            return None
        return replace(
            current, status=ArchiveStatus.EXPIRING, since=at.isoformat(), previous_status=current.status
        )

    return expected.status == ArchiveStatus.EXPIRING or _apply(settings, recording_id, expiring)


def mark_expired(settings: Settings, recording_id: str, at: datetime) -> bool:
    """Retention deleted every blob of the archive: Expired, final."""

    def expired(current: ArchiveSummary | None) -> ArchiveSummary | None:
        if current is None or current.status != ArchiveStatus.EXPIRING:
            return None
        return replace(current, status=ArchiveStatus.EXPIRED, since=at.isoformat(), expired_at=at.isoformat())

    return _apply(settings, recording_id, expired)


def missing_archive(known: bool, message: str) -> ApiError:
    """The 404 for a recording without the archive asked for: ArchiveNotFound when the catalog knows
    the recording, RecordingNotFound when nothing here knows the id."""
    if not known:
        return not_found("No recording with this id is known here.", "recordingId", code="RecordingNotFound")
    return not_found(message, "recordingId", code="ArchiveNotFound")


def no_archive(settings: Settings, recording_id: str, message: str) -> ApiError:
    """`missing_archive`, for a caller that has not read the recording's entry."""
    return missing_archive(catalog(settings).read(recording_id) is not None, message)


@dataclass(frozen=True)
class StoredArchive:
    """What the catalog and the archive's blobs hold of one recording's archive, read once."""

    known: bool  # the catalog knows the recording
    summary: ArchiveSummary | None
    manifest: Manifest | None


def stored_archive(settings: Settings, recording_id: str) -> StoredArchive:
    """The recording's entry (one read) and, when its summary names one, its manifest. Storage failures
    are answered as Azure Storage's (the catalog is the answer here)."""
    with upstream(STORAGE):
        entity = catalog(settings).read(recording_id)
        summary = summary_of(entity)
        name = summary.manifest_blob_name if summary else None
        return StoredArchive(entity is not None, summary, read_manifest(settings, name) if name else None)


def archive_summary(settings: Settings, recording_id: str) -> ArchiveSummary | None:
    """The recording's archive summary; None when it has none."""
    return summary_of(catalog(settings).read(recording_id))


def stored_job(settings: Settings, recording_id: str) -> ArchiveJob | None:
    """The job stored when the recording's file event arrived; None if none arrived."""
    entity = catalog(settings).read(recording_id)
    name = (entity or {}).get(_JOB)
    return read_job(settings, str(name)) if name else None
