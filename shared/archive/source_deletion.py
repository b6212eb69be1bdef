"""Deleting the ACS copy of archived chunks: the one service the orchestration's activity and the
`DELETE .../content` route both call.

Destructive and irreversible: the ACS copy may be the only copy. The manifest's rules
(shared.archive.model) decide what may go; every delete location is allow-listed again here, since
the manifest is read back from storage.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from shared.archive.model import ArchivedChunk
from shared.archive.records import record_manifest, recording_manifest
from shared.clients import call_automation_client
from shared.errors import ACS, STORAGE, ApiError, UntrustedHostError, not_found, upstream
from shared.recording_hosts import recording_url_problem
from shared.settings import Settings


def delete_source_copy(settings: Settings, chunk: ArchivedChunk) -> bool:
    """Delete one archived chunk's ACS copy: True if deleted now, False if it was already gone."""
    location = chunk.delete_location
    if location is None or recording_url_problem(location) is not None:
        raise UntrustedHostError(f"chunk {chunk.index}: the delete location is not an ACS recording URL")
    try:
        call_automation_client(settings.acs).delete_recording(location)
    except ResourceNotFoundError:
        return False
    return True


def delete_archived_source(settings: Settings, recording_id: str) -> dict[str, Any]:
    """Delete every chunk's ACS copy of a verified archive (409 otherwise); count what went."""
    manifest = recording_manifest(settings, recording_id)
    if manifest is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    if not manifest.verified:
        raise ApiError(
            HTTPStatus.CONFLICT,
            "ArchiveNotVerified",
            "The archive is not complete and verified; the ACS copy is the only copy and is kept.",
        )
    chunks = manifest.source_deletable()
    if any(recording_url_problem(str(chunk.delete_location)) is not None for chunk in chunks):
        raise ApiError(
            HTTPStatus.CONFLICT,
            "InvalidDeleteLocation",
            "The manifest's delete location is not an ACS recording URL.",
        )
    deleted = already_gone = 0
    for chunk in chunks:
        with upstream(ACS):
            if delete_source_copy(settings, chunk):
                deleted += 1
            else:
                already_gone += 1
    with upstream(STORAGE):
        record_manifest(settings, manifest.with_source_deleted())
    return {"recordingId": recording_id, "deleted": deleted, "alreadyGone": already_gone}
