"""`DELETE .../content`: delete the ACS copy of every chunk, only once the archive is verified.

Destructive and irreversible: the ACS copy may be the only copy. The manifest's rules
(shared.archive.manifest) decide what may go; every delete location is allow-listed again here,
since the manifest is read back from storage.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.archive.activities import delete_source_chunk, record_archive
from shared.archive.manifest import Manifest
from shared.archive.store import recording_manifest_document
from shared.errors import ACS, STORAGE, ApiError, not_found, upstream
from shared.recording_hosts import recording_url_problem
from shared.settings import Settings


def delete_archived_source(settings: Settings, recording_id: str) -> dict[str, Any]:
    """Delete every chunk's ACS copy of a verified archive (409 otherwise); count what went."""
    document = recording_manifest_document(settings, recording_id)
    if document is None:
        raise not_found("No archive exists for this recording.", "recordingId")
    manifest = Manifest.from_json(document)
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
            if delete_source_chunk(settings, str(chunk.delete_location)):
                deleted += 1
            else:
                already_gone += 1
    with upstream(STORAGE):
        record_archive(settings, manifest.with_source_deleted().to_json())
    return {"recordingId": recording_id, "deleted": deleted, "alreadyGone": already_gone}
