"""A chunk's metadata document (ACS's `acsmetadata`): copied beside the media as received,
described in the manifest, and never in the media's way.

The metadata describes the recording; the media is the recording. A document that is not JSON is
kept as received under another name (`.metadata.raw`) and flagged `notJson`; one that cannot be
read after the retries is flagged `unavailable`. Either way the media is archived and verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

from shared.archive.blob_layout import metadata_blob_name, raw_metadata_blob_name
from shared.archive.model import ChunkJob, MetadataProblem
from shared.archive.range_reads import TRANSIENT, Retries, is_transient, read_document
from shared.errors import TransferError, release_frames

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient
    from azure.storage.blob import ContainerClient

_LOG = logging.getLogger(__name__)
MAX_METADATA_BYTES: Final = 4 * 1024 * 1024


@dataclass(frozen=True)
class ArchivedMetadata:
    """Where the document went, its size and SHA-256 as stored, or why it is not there as JSON."""

    blob_name: str
    size: int | None = None
    sha256: str | None = None
    problem: MetadataProblem | None = None
    duration_ms: int | None = None  # the document's `chunkDuration`, when it says


def chunk_duration_ms(document: object) -> int | None:
    """`chunkDuration` (milliseconds, as captured: 23820 for a 24 s chunk) of a parsed metadata
    document, or None when it has none (ACS does not document it as required)."""
    value = document.get("chunkDuration") if isinstance(document, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def archive_metadata(
    acs: CallAutomationClient, container: ContainerClient, prefix: str, chunk: ChunkJob, retries: Retries
) -> ArchivedMetadata:
    """Copy the chunk's metadata document once; an earlier attempt's copy is described, not redone.
    Storage failures are raised (the chunk is retried); ACS's are a flag, never an error."""
    json_name = metadata_blob_name(prefix, chunk.index, chunk.document_id)
    raw_name = raw_metadata_blob_name(prefix, chunk.index, chunk.document_id)
    candidates: tuple[tuple[str, MetadataProblem | None], ...] = ((json_name, None), (raw_name, "notJson"))
    for name, problem in candidates:
        stored = _stored(container, name, problem)
        if stored is not None:
            return stored
    try:
        body = _download(acs, chunk, retries)
    except Exception as error:  # whatever ACS did, the media goes on without its description
        _LOG.warning(
            "chunk %d: its metadata document could not be read: %s", chunk.index, type(error).__name__
        )
        release_frames(error)
        return ArchivedMetadata(json_name, problem="unavailable")
    is_json, document = _parsed(body)  # once: the document may be megabytes
    name = json_name if is_json else raw_name
    if not is_json:
        _LOG.warning("chunk %d: its metadata document is not JSON; kept as received", chunk.index)
    digest = hashlib.sha256(body).hexdigest()
    duration = chunk_duration_ms(document)
    blob_metadata = {"sha256": digest, "size": str(len(body))}
    if duration is not None:
        blob_metadata["duration_ms"] = str(duration)
    with contextlib.suppress(ResourceExistsError):  # stored by a concurrent attempt; it never changes
        container.upload_blob(
            name,
            body,
            overwrite=False,
            metadata=blob_metadata,
            content_settings=_content_settings("application/json" if is_json else "application/octet-stream"),
        )
    return ArchivedMetadata(name, len(body), digest, None if is_json else "notJson", duration)


def _stored(
    container: ContainerClient, name: str, problem: MetadataProblem | None
) -> ArchivedMetadata | None:
    try:
        properties = container.get_blob_client(name).get_blob_properties()
    except ResourceNotFoundError as error:
        release_frames(error)
        return None
    metadata = properties.metadata or {}
    duration = metadata.get("duration_ms")
    return ArchivedMetadata(
        name,
        int(properties.size),
        metadata.get("sha256"),
        problem,
        int(duration) if duration and duration.isdigit() else None,
    )


def _download(acs: CallAutomationClient, chunk: ChunkJob, retries: Retries) -> bytes:
    last: Exception | None = None
    for attempt in range(retries.attempts):
        try:
            return read_document(acs, chunk.metadata_location, MAX_METADATA_BYTES)
        except TRANSIENT as error:
            if not is_transient(error):
                raise
            last = error
            release_frames(error)
        time.sleep(retries.delay(last, attempt))
    raise TransferError(f"the metadata document failed after retries: {type(last).__name__}")


def _parsed(body: bytes) -> tuple[bool, object]:
    """(whether `body` is JSON, the document): JSON's `null` is a document too."""
    try:
        return True, json.loads(body)
    except ValueError:
        return False, None


def _content_settings(content_type: str) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type)
