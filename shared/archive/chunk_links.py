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
from shared.archive.records import missing_archive, stored_archive
from shared.archive.states import RETIRED
from shared.clients import blob_service_client
from shared.errors import STORAGE, ApiError, bad_request, not_found, upstream
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

MAX_INDEX: Final = 999


@dataclass(frozen=True)
class LinkedBlob:
    """The one blob a link names, as the manifest describes it: the media, or its metadata document."""

    name: str
    size: int | None
    sha256: str | None
    content_type: str | None

    @classmethod
    def of(cls, chunk: ArchivedChunk, *, metadata: bool) -> LinkedBlob:
        if not metadata:
            return cls(chunk.blob_name, chunk.size, chunk.sha256, chunk.content_type or None)
        raw = chunk.metadata_problem == "notJson"
        content_type = "application/octet-stream" if raw else "application/json"
        return cls(chunk.metadata_blob_name, chunk.metadata_size, chunk.metadata_sha256, content_type)


@dataclass(frozen=True)
class ChunkLink:
    """The link to one archived blob of a chunk and what the manifest says of that blob."""

    link: BlobLink
    chunk: ArchivedChunk
    blob: LinkedBlob

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.link.url,
            "expiresOn": self.link.expires_on.isoformat(),
            "fileName": self.link.file_name,
            "blobName": self.blob.name,
            "index": self.chunk.index,
            "size": self.blob.size,
            "sha256": self.blob.sha256,
            "contentType": self.blob.content_type,
            "metadataProblem": self.chunk.metadata_problem,
        }


def checked_index(value: str | None) -> int:
    """The route's `{index}`: a whole number up to the 999 chunks an event can name, else 400.

    ASCII digits only, at most three: str.isdigit() also takes `²` and `①`, which int() refuses."""
    if value is None or not re.fullmatch(r"[0-9]{1,3}", value) or int(value) > MAX_INDEX:
        raise bad_request(f"The chunk index must be a whole number from 0 to {MAX_INDEX}.", "index")
    return int(value)


def wants_redirect(value: str | None) -> bool:
    """`?redirect=`: `true` (or left out) redirects, `false` answers the link as JSON; else 400."""
    if value is None or value.lower() == "true":
        return True
    if value.lower() == "false":
        return False
    raise bad_request("'redirect' must be 'true' or 'false'.", "redirect")


def verified_chunk(manifest: Manifest, index: int) -> ArchivedChunk:
    """The manifest's verified entry for chunk `index`, else 404."""
    chunk = manifest.verified_chunk(index)
    if chunk is None:
        raise _no_chunk(index)
    return chunk


def chunk_link(
    settings: Settings, recording_id: str, index: int, *, metadata: bool, now: datetime
) -> ChunkLink:
    """A link only to a verified chunk whose blob is still there with the manifest's SHA-256;
    410 once retention deleted it."""
    stored = stored_archive(settings, recording_id)
    summary, manifest = stored.summary, stored.manifest
    if summary is None:
        raise missing_archive(stored.known, "No archive exists for this recording yet.")
    if summary.status in RETIRED:
        raise _expired()
    if summary.manifest_blob_name is None:
        raise _no_chunk(index)
    if manifest is None:
        raise _expired()
    chunk = verified_chunk(manifest, index)
    if metadata and chunk.metadata_problem == "unavailable":
        raise not_found(
            f"Chunk {index}'s metadata document could not be read from ACS.", "index", code="ChunkNotFound"
        )
    target = LinkedBlob.of(chunk, metadata=metadata)
    with upstream(STORAGE):
        service = blob_service_client(settings.storage)
        _require_archived(service, settings.archive_container, chunk.blob_name, chunk.sha256)
        if metadata and target.sha256:
            _require_archived(service, settings.archive_container, target.name, target.sha256)
        link = blob_link(
            service,
            signing_mode(settings.storage),
            settings.archive_container,
            target.name,
            now=now,
            lifetime_seconds=settings.link_lifetime_seconds,
            download_name=file_name(
                manifest.recording_start_time, manifest.recording_key, index, target.name
            ),
            content_type=target.content_type,
        )
    return ChunkLink(link=link, chunk=chunk, blob=target)


def _require_archived(service: BlobServiceClient, container: str, blob_name: str, sha256: str) -> None:
    """The blob is still there and is the verified one (the lifecycle rule may have deleted it)."""
    try:
        properties = service.get_blob_client(container, blob_name).get_blob_properties()
    except ResourceNotFoundError:
        raise _expired() from None
    if (properties.metadata or {}).get("sha256") != sha256:
        raise not_found(
            "The archived chunk does not match its manifest; it is not offered.",
            "index",
            code="ChunkNotFound",
        )


def _no_chunk(index: int) -> ApiError:
    return not_found(
        f"Chunk {index} of this recording is not archived and verified.", "index", code="ChunkNotFound"
    )


def _expired() -> ApiError:
    return ApiError(
        HTTPStatus.GONE, "ArchiveExpired", "This recording's archive was deleted by the retention policy."
    )
