"""Deleting the ACS copy of archived chunks: the one service the orchestration's activity and the
`DELETE .../content` route both call.

Destructive and irreversible: the ACS copy may be the only copy. So deleting is the last thing,
and it checks: the manifest must be verified (shared.archive.model), the archive must not be
Expired, and each chunk's archived blob is read back (it exists, with the manifest's size,
SHA-256 and document id) right before its ACS copy goes. Every delete location is allow-listed
again here, since the manifest is read back from storage.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError

from shared import telemetry
from shared.archive.model import ArchivedChunk
from shared.archive.records import missing_archive, record_manifest, stored_archive
from shared.archive.states import RETIRED
from shared.archive.store import archive_container
from shared.clients import call_automation_client
from shared.errors import ACS, STORAGE, ApiError, UntrustedHostError, upstream
from shared.recording_hosts import recording_url_problem
from shared.settings import Settings

Deletion = Literal["deleted", "alreadyGone", "refused"]


def archived_blob_problem(settings: Settings, chunk: ArchivedChunk) -> str | None:
    """Why the chunk's archived blob is not the one the manifest describes; None when it is."""
    try:
        properties = archive_container(settings).get_blob_client(chunk.blob_name).get_blob_properties()
    except ResourceNotFoundError:
        return f"chunk {chunk.index}: its archived blob is missing"
    metadata = properties.metadata or {}
    if properties.size != chunk.size or metadata.get("size") != str(chunk.size):
        return f"chunk {chunk.index}: its archived blob has the wrong size"
    if metadata.get("sha256") != chunk.sha256 or metadata.get("source_document_id") != chunk.document_id:
        return f"chunk {chunk.index}: its archived blob is not the verified one"
    return None


def delete_source_copy(settings: Settings, chunk: ArchivedChunk) -> Deletion:
    """Delete one archived chunk's ACS copy after reading its archived blob back; "refused" (and
    nothing deleted) when that blob is not the verified one."""
    location = chunk.delete_location
    if location is None or recording_url_problem(location) is not None:
        raise UntrustedHostError(f"chunk {chunk.index}: the delete location is not an ACS recording URL")
    if not chunk.sha256 or archived_blob_problem(settings, chunk) is not None:
        return "refused"
    try:
        with telemetry.span(f"{telemetry.ACS_CALL}.delete_recording", chunk=chunk.index):
            call_automation_client(settings.acs).delete_recording(location)
    except ResourceNotFoundError:
        return "alreadyGone"
    return "deleted"


def delete_archived_source(settings: Settings, recording_id: str) -> dict[str, Any]:
    """Delete every chunk's ACS copy of a verified archive (409 otherwise); count what went."""
    stored = stored_archive(settings, recording_id)
    summary, manifest = stored.summary, stored.manifest
    if summary is not None and summary.status in RETIRED:
        raise ApiError(
            HTTPStatus.GONE, "ArchiveExpired", "This recording's archive was deleted by the retention policy."
        )
    if manifest is None:
        raise missing_archive(stored.known, "No archive exists for this recording yet.")
    if not manifest.verified:
        raise _not_verified(
            "The archive is not complete and verified; the ACS copy is the only copy and is kept."
        )
    chunks = manifest.source_deletable()
    if any(recording_url_problem(str(chunk.delete_location)) is not None for chunk in chunks):
        raise ApiError(
            HTTPStatus.CONFLICT,
            "InvalidDeleteLocation",
            "The manifest's delete location is not an ACS recording URL.",
        )
    with upstream(STORAGE):
        problems = [problem for chunk in chunks if (problem := archived_blob_problem(settings, chunk))]
    if problems:  # checked for every chunk before any is deleted
        raise _not_verified(
            f"The archive no longer holds what its manifest says ({problems[0]}); nothing deleted."
        )
    outcomes: dict[int, Deletion] = {}
    for chunk in chunks:
        with upstream(ACS):
            outcomes[chunk.index] = delete_source_copy(settings, chunk)
    gone = {index for index, outcome in outcomes.items() if outcome != "refused"}
    with upstream(STORAGE):
        record_manifest(settings, manifest.with_source_deleted(gone))
    counts = list(outcomes.values())
    return {
        "recordingId": recording_id,
        "deleted": counts.count("deleted"),
        "alreadyGone": counts.count("alreadyGone"),
        "deletedBefore": sum(1 for chunk in manifest.chunks if chunk.source_deleted),
    }


def _not_verified(message: str) -> ApiError:
    return ApiError(HTTPStatus.CONFLICT, "ArchiveNotVerified", message)
