"""Which lifecycle events an archive status change makes, and what each carries (pure).

Every status write goes through shared.archive.records, which hands the summary before and after
(and the manifest, when a round ended) to `announcements`; the catalog keeps what it returns in the
same transaction as the change (shared.events.outbox). An event is made by a *change*, never by a
write: a repeated write (a retried activity, a redelivered event, a second run converging on the
same manifest) announces nothing, so each event is told once per change.

- Recording stopped: the first archive status a recording gets (AwaitingFiles after a stop our
  route or the watch saw, or Archiving when the file event came first: ACS publishes files only
  once a recording has stopped).
- Archive started: Archiving, from anything but a run already in flight.
- Overdue, Retrying (each attempt), Completed, Lost, Expired: entering the status.
- Source deleted: the manifest says every chunk's ACS copy is gone.

What goes out is ids, counts, sizes, hashes, times, statuses and API routes: never a URL that
carries a credential (the download routes answer with a SAS only to a caller holding a key).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Final

from shared.archive.model import ArchivedChunk, ArchiveSummary, Manifest
from shared.archive.states import IN_FLIGHT_STATUSES, ArchiveStatus
from shared.events.catalogue import MAX_EVENT_BYTES, Announcement, EventType, recording_route
from shared.recording_ids import archive_instance_id
from shared.times import as_utc, parse_time

# Room left in an event for everything but its files: the envelope, ids (up to 3 KiB when encoded), counts.
_ENVELOPE_ALLOWANCE: Final = 32 * 1024
# The status whose entry makes an event, and the event.
_ENTERED = {
    ArchiveStatus.OVERDUE: EventType.ARCHIVE_OVERDUE,
    ArchiveStatus.COMPLETED: EventType.ARCHIVE_COMPLETED,
    ArchiveStatus.LOST: EventType.ARCHIVE_LOST,
    ArchiveStatus.EXPIRED: EventType.ARCHIVE_EXPIRED,
}


def announcements(
    recording_id: str,
    before: ArchiveSummary | None,
    after: ArchiveSummary,
    *,
    manifest: Manifest | None = None,
    stopped_at: str | None = None,
) -> list[Announcement]:
    """The events the move from `before` to `after` makes, in order (empty for a repeated write)."""
    found: list[Announcement] = []
    if before is None:
        found.append(
            Announcement(EventType.RECORDING_STOPPED, after.since, {"stoppedAt": stopped_at or after.since})
        )
    previous = before.status if before else None
    status = after.status
    instance = manifest.instance_id if manifest else archive_instance_id(recording_id)
    if status == ArchiveStatus.ARCHIVING and previous not in IN_FLIGHT_STATUSES:
        found.append(
            Announcement(
                EventType.ARCHIVE_STARTED,
                after.since,
                {"instanceId": instance, "previousStatus": previous.value if previous else None},
            )
        )
    elif status == ArchiveStatus.RETRYING and (
        previous != status or (before and before.attempt != after.attempt)
    ):
        found.append(
            Announcement(EventType.ARCHIVE_RETRYING, after.since, _retrying(instance, after, manifest))
        )
    elif status in _ENTERED and previous != status:
        found.append(
            Announcement(
                _ENTERED[status], after.since, _entered(recording_id, instance, before, after, manifest)
            )
        )
    if after.source_deletion == "deleted" and (before is None or before.source_deletion != "deleted"):
        deleted = sum(1 for chunk in manifest.chunks if chunk.source_deleted) if manifest else after.chunks
        time = manifest.recorded_at if manifest else after.since
        found.append(
            Announcement(
                EventType.ARCHIVE_SOURCE_DELETED, time, {"instanceId": instance, "chunksDeleted": deleted}
            )
        )
    return found


def _retrying(instance: str, after: ArchiveSummary, manifest: Manifest | None) -> dict[str, Any]:
    return {
        "instanceId": instance,
        "attempt": after.attempt or 1,
        "nextAttemptAt": after.next_attempt_at,
        "chunksVerified": after.chunks,
        "chunksExpected": manifest.chunks_expected if manifest else None,
        "deadline": manifest.deadline if manifest else None,
        "lastError": after.last_error,
    }


def _entered(
    recording_id: str,
    instance: str,
    before: ArchiveSummary | None,
    after: ArchiveSummary,
    manifest: Manifest | None,
) -> dict[str, Any]:
    status = after.status
    if status == ArchiveStatus.OVERDUE:
        return {"awaitingSince": before.since if before else None}
    if status == ArchiveStatus.EXPIRED:
        previous = after.previous_status
        return {
            "expiredAt": after.expired_at or after.since,
            "previousStatus": previous.value if previous else None,
        }
    data: dict[str, Any] = {"instanceId": instance, "chunksVerified": after.chunks, "bytes": after.bytes}
    if manifest is None:
        return data
    data["chunksExpected"] = manifest.chunks_expected
    if status == ArchiveStatus.LOST:
        lost = [{"index": chunk.index, "reason": chunk.error} for chunk in manifest.lost]
        return {**data, "lostChunks": lost, "lastError": after.last_error}
    return {
        **data,
        "archivedAt": manifest.recorded_at,
        "latencySeconds": archive_latency_s(manifest),
        "recordingDurationMs": manifest.recording_duration_ms,
        "manifestRoute": f"/api/{recording_route(recording_id)}/archive",
        **fitted_files([_file(recording_id, chunk) for chunk in manifest.chunks]),
    }


def fitted_files(files: list[dict[str, Any]]) -> dict[str, Any]:
    """`files`, or as many as keep the event within Event Grid's size limit with `filesTruncated`: a
    recording of hundreds of chunks with a long id (routes carry it twice per file) would not fit;
    the manifest (`manifestRoute`) always lists them all."""
    budget = MAX_EVENT_BYTES - _ENVELOPE_ALLOWANCE
    sizes = [len(json.dumps(item, separators=(",", ":"))) + 1 for item in files]
    if sum(sizes) <= budget:
        return {"files": files}
    kept, used = 0, 0
    while kept < len(files) and used + sizes[kept] <= budget:
        used += sizes[kept]
        kept += 1
    return {"files": files[:kept], "filesTruncated": True, "filesTotal": len(files)}


def _file(recording_id: str, chunk: ArchivedChunk) -> dict[str, Any]:
    """One archived file as a consumer needs it: what it is, how to check it, where to ask for it."""
    route = f"/api/{recording_route(recording_id)}/archive/chunks/{chunk.index}"
    return {
        "index": chunk.index,
        "blobName": chunk.blob_name,
        "size": chunk.size,
        "durationMs": chunk.duration_ms,
        "sha256": chunk.sha256,
        "contentType": chunk.content_type,
        "downloadRoute": route,
        "metadataRoute": f"{route}/metadata",
    }


def archive_latency_s(manifest: Manifest) -> float | None:
    """From the file event to the verified archive, in seconds (None if a time cannot be read)."""
    try:
        delta: timedelta = as_utc(parse_time(manifest.recorded_at)) - as_utc(parse_time(manifest.event_time))
    except ValueError:
        return None
    return round(max(delta.total_seconds(), 0.0), 3)
