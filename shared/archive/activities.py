"""The archive's Durable activities: each reads its typed input off the wire, calls the service
that does the work (the same one a route calls), and puts its typed result back on the wire. The
orchestrator (shared.archive.orchestration) decides; these do, and say what happened in the log."""

from __future__ import annotations

import logging
import time
from typing import Any, Final

from shared import telemetry
from shared.archive.model import ArchivedChunk, ChunkAttempt, ChunkTask, Manifest
from shared.archive.records import record_manifest
from shared.archive.source_deletion import delete_source_copy
from shared.archive.states import ArchiveStatus
from shared.archive.store import archive_container
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.errors import DownloadRefusedError, release_frames, short_error
from shared.settings import Settings

_LOG = logging.getLogger(__name__)
TRANSFER_OPTIONS: Final = TransferOptions()
GONE: Final = frozenset({404, 410})  # what the recording host answers for content it no longer has


def archive_chunk_activity(settings: Settings, payload: object) -> dict[str, Any]:
    """`archive_chunk`: one chunk's content and metadata into the archive, verified; or why not.

    It answers for its chunk instead of failing: a failed activity would fail the whole wave's
    fan-in and hide its siblings' answers. The orchestrator retries what failed."""
    task = ChunkTask.from_json(payload)
    index = task.chunk.index
    started = time.perf_counter()
    try:
        with telemetry.span(
            telemetry.CHUNK_SPAN, recording_id=task.recording_id, instance_id=task.instance_id, chunk=index
        ):
            outcome = archive_chunk(
                task,
                acs=call_automation_client(settings.acs),
                container=archive_container(settings),
                options=TRANSFER_OPTIONS,
            )
    except Exception as error:
        gone = isinstance(error, DownloadRefusedError) and error.status_code in GONE
        reason = short_error(f"{type(error).__name__}: {error}")
        release_frames(error)
        _LOG.warning("Chunk %s not archived (%s): %s", index, "gone at ACS" if gone else "will retry", reason)
        telemetry.record_chunk(time.perf_counter() - started, "gone" if gone else "failed")
        return ChunkAttempt(index, error=reason, gone=gone).to_json()
    archived = outcome.archived
    telemetry.record_chunk(
        time.perf_counter() - started,
        "skipped" if outcome.skipped else "archived",
        size=0 if outcome.skipped else archived.size,
    )
    _LOG.info(
        "Chunk %s archived: %s bytes%s%s",
        index,
        archived.size,
        " (already archived)" if outcome.skipped else "",
        f"; metadata {archived.metadata_problem}" if archived.metadata_problem else "",
    )
    return ChunkAttempt(index, archived=archived).to_json()


def record_archive_activity(settings: Settings, payload: object) -> None:
    """`record_archive`: write the manifest and the catalog's summary of it, and say where it stands."""
    manifest = Manifest.from_json(payload)
    recorded = record_manifest(settings, manifest)
    if not recorded:
        return
    if manifest.status == ArchiveStatus.RETRYING:
        _LOG.warning(
            "Archive %s is Retrying: %d of %d chunks verified; attempt %d failed (%s); next attempt at %s",
            manifest.instance_id,
            len(manifest.chunks),
            manifest.chunks_expected,
            manifest.attempt,
            manifest.errors[0] if manifest.errors else "unknown",
            manifest.next_attempt_at,
        )
    elif manifest.status == ArchiveStatus.LOST:
        _LOG.error(
            "Archive %s is Lost (recording %s): %d of %d chunks verified and kept; %s",
            manifest.instance_id,
            manifest.recording_id,
            len(manifest.chunks),
            manifest.chunks_expected,
            manifest.lost[0].error if manifest.lost else "unverified at the deadline",
        )
    else:
        _LOG.info("Archive %s is %s: %d chunks", manifest.instance_id, manifest.status, len(manifest.chunks))


def delete_source_chunk_activity(settings: Settings, payload: object) -> str:
    """`delete_source_chunk`: delete one verified chunk's ACS copy after reading its archived blob
    back: "deleted", "alreadyGone", or "refused" (the blob is not the verified one: kept)."""
    chunk = ArchivedChunk.from_json(payload)
    outcome = delete_source_copy(settings, chunk)
    if outcome == "refused":
        _LOG.error("Chunk %s: its ACS copy is kept: the archived blob is not the verified one", chunk.index)
    return outcome
