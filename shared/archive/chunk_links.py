"""`GET /api/recordings/{id}/archive/chunks/{index}[/metadata]`: which blob a link may name, then the link.

Only a chunk the manifest lists as archived and verified (it has a SHA-256), whose blob is still there
with that same SHA-256 in its metadata, gets a link; a chunk of an archive deleted by retention is gone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import ResourceNotFoundError

from shared.archive.blob_links import BlobLink, blob_link, file_name, signing_mode
from shared.archive.model import ArchivedChunk, Manifest
from shared.archive.records import archive_summary
from shared.archive.states import RETIRED
from shared.archive.store import read_manifest
from shared.clients import blob_service_client
from shared.errors import STORAGE, ApiError, bad_request, not_found, upstream
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

MAX_INDEX: Final = 999


@dataclass(frozen=True)
class ChunkLink:
    """The link to one archived chunk (or its metadata) and the manifest entry it was checked against."""

    link: BlobLink
    chunk: ArchivedChunk
    blob_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.link.url,
            "expiresOn": self.link.expires_on.isoformat(),
            "fileName": self.link.file_name,
            "blobName": self.blob_name,
            "index": self.chunk.index,
            "size": self.chunk.size,
            "sha256": self.chunk.sha256,
            "contentType": self.chunk.content_type or None,
        }


def checked_index(value: str | None) -> int:
    """The route's `{index}`: a whole number up to the 999 chunks an event can name, else 400.

    ASCII digits only, at most three: str.isdigit() also takes `²` and `①`, which int() refuses."""
    if value is None or not re.fullmatch(r"[0-9]{1,3}", value) or int(value) > MAX_INDEX:
        raise bad_request(f"The chunk index must be a whole number from 0 to {MAX_INDEX}.", "index")
    return int(value)


def verified_chunk(manifest: Manifest, index: int) -> ArchivedChunk:
    """The manifest's verified entry for chunk `index`, else 404."""
    chunk = manifest.verified_chunk(index)
    if chunk is None:
        raise not_found(f"Chunk {index} of this recording is not archived and verified.", "index")
    return chunk


def chunk_link(
    settings: Settings, recording_id: str, index: int, *, metadata: bool, now: datetime
) -> ChunkLink:
    """A link only to a verified chunk whose blob is still there with the manifest's SHA-256;
    410 once retention deleted it."""
    with upstream(STORAGE):
        summary = archive_summary(settings, recording_id)
        if summary is None:
            raise not_found("No archive exists for this recording.", "recordingId")
        if summary.status in RETIRED:
            raise _expired()
        if summary.manifest_blob_name is None:
            raise not_found(f"Chunk {index} of this recording is not archived and verified.", "index")
        manifest = read_manifest(settings, summary.manifest_blob_name)
        if manifest is None:
            raise _expired()
        chunk = verified_chunk(manifest, index)
        service = blob_service_client(settings.storage)
        blob_name = chunk.metadata_blob_name if metadata else chunk.blob_name
        _require_archived(service, settings.archive_container, chunk.blob_name, chunk.sha256)
        link = blob_link(
            service,
            signing_mode(settings.storage),
            settings.archive_container,
            blob_name,
            now=now,
            lifetime_seconds=settings.link_lifetime_seconds,
            download_name=file_name(
                manifest.recording_start_time,
                manifest.recording_key,
                index,
                blob_name,
            ),
            content_type="application/json" if metadata else (chunk.content_type or None),
        )
    return ChunkLink(link=link, chunk=chunk, blob_name=blob_name)


def _require_archived(service: BlobServiceClient, container: str, blob_name: str, sha256: str) -> None:
    """The blob is still there and is the verified one (the lifecycle rule may have deleted it)."""
    try:
        properties = service.get_blob_client(container, blob_name).get_blob_properties()
    except ResourceNotFoundError:
        raise _expired() from None
    if (properties.metadata or {}).get("sha256") != sha256:
        raise not_found("The archived chunk does not match its manifest; it is not offered.", "index")


def _expired() -> ApiError:
    return ApiError(
        HTTPStatus.GONE, "ArchiveExpired", "This recording's archive was deleted by the retention policy."
    )
