"""The archive's Durable activities: each reads its typed input off the wire, calls the service
that does the work (the same one a route calls), and puts its typed result back on the wire. The
orchestrator (shared.archive.orchestration) decides; these do."""

from __future__ import annotations

import logging
from typing import Any, Final

from shared.archive.model import ArchivedChunk, ChunkTask, Manifest
from shared.archive.records import record_manifest
from shared.archive.source_deletion import delete_source_copy
from shared.archive.store import archive_container
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.settings import Settings

_LOG = logging.getLogger(__name__)
TRANSFER_OPTIONS: Final = TransferOptions()


def archive_chunk_activity(settings: Settings, payload: object) -> dict[str, Any]:
    """`archive_chunk`: one chunk's content and metadata into the archive, verified."""
    task = ChunkTask.from_json(payload)
    outcome = archive_chunk(
        task,
        acs=call_automation_client(settings.acs),
        container=archive_container(settings),
        options=TRANSFER_OPTIONS,
    )
    _LOG.info(
        "Chunk %s archived: %s bytes%s",
        task.chunk.index,
        outcome.archived.size,
        " (already archived)" if outcome.skipped else "",
    )
    return outcome.archived.to_json()


def record_archive_activity(settings: Settings, payload: object) -> None:
    """`record_archive`: write the manifest and the catalog's summary of it."""
    record_manifest(settings, Manifest.from_json(payload))


def delete_source_chunk_activity(settings: Settings, payload: object) -> bool:
    """`delete_source_chunk`: delete one verified chunk's ACS copy; True if deleted now, False if it
    was already gone."""
    return delete_source_copy(settings, ArchivedChunk.from_json(payload))
