"""Writes into the archive container: deterministic blocks, one conditional commit, and the metadata
that makes an archived blob verifiable later.

Block ids are a function of (offset, length), so a retry, or a concurrent twin run, stages the same
ids with the same bytes, and blocks already staged by a crashed attempt are not uploaded again.
Every commit carries `If-None-Match: *`: an archived blob is never rewritten.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from shared.archive.model import ChunkJob
from shared.errors import TransferError, release_frames

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

Span = tuple[int, int]  # (offset, length)


@dataclass(frozen=True)
class StoredContent:
    """A chunk's content as it stands in the archive: its size and SHA-256."""

    size: int
    sha256: str


def block_id(offset: int, length: int) -> str:
    """Deterministic, fixed-width block id (every id in a blob must have the same length)."""
    return base64.b64encode(f"{offset:016d}-{length:012d}".encode()).decode()


def verified_content(blob: BlobClient, chunk: ChunkJob) -> StoredContent | None:
    """The chunk's archived content if this blob holds it, verified by its metadata; None if absent.
    A blob that holds something else is an error, never overwritten."""
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError as error:
        release_frames(error)
        return None
    metadata = properties.metadata or {}
    if metadata.get("source_document_id") != chunk.document_id or not metadata.get("sha256"):
        raise TransferError(f"blob for chunk {chunk.index} exists but is not this chunk's verified archive")
    if str(properties.size) != metadata.get("size"):
        raise TransferError(f"archived blob for chunk {chunk.index} has the wrong size")
    return StoredContent(int(properties.size), metadata["sha256"])


def staged_blocks(blob: BlobClient) -> dict[str, int]:
    """Blocks an earlier attempt staged: id -> size."""
    try:
        _, uncommitted = blob.get_block_list("uncommitted")
    except ResourceNotFoundError as error:
        release_frames(error)
        return {}
    return {block.id: block.size for block in uncommitted}


def reused_blocks(ranges: list[Span], staged: dict[str, int]) -> int:
    """How many of `ranges` an earlier attempt had staged with the right size."""
    return sum(1 for r in ranges if staged.get(block_id(*r)) == r[1])


def stage(blob: BlobClient, span: Span, buffer: bytearray, length: int, staged: dict[str, int]) -> None:
    """Stage one range as its block, unless an earlier attempt staged it with this size."""
    identifier = block_id(*span)
    if staged.get(identifier) != length:
        with memoryview(buffer) as view:
            # a view, not a copy: checked against Azurite; the SDK's annotation is narrower
            blob.stage_block(identifier, view[:length], length=length)  # type: ignore[arg-type]


def commit(
    blob: BlobClient, chunk: ChunkJob, ranges: list[Span], content: StoredContent, content_type: str
) -> None:
    """Commit the staged blocks in order, once, with the hash in the blob's metadata."""
    from azure.storage.blob import BlobBlock

    try:
        blob.commit_block_list(
            [BlobBlock(block_id(*r)) for r in ranges],
            metadata=archive_metadata(chunk, content),
            content_settings=content_settings(content_type),
            if_none_match="*",
        )
    except (ResourceExistsError, HttpResponseError) as error:
        if getattr(error, "status_code", None) not in (409, 412):
            raise
        settle_conflict(blob, chunk, content, error)
        return
    properties = blob.get_blob_properties()
    if properties.size != content.size:
        raise TransferError(f"committed blob has {properties.size} bytes, expected {content.size}")


def put_whole(
    blob: BlobClient, chunk: ChunkJob, payload: bytes, content: StoredContent, content_type: str
) -> None:
    """A small chunk in one Put Blob that cannot overwrite (If-None-Match: *, as the block commit)."""
    try:
        blob.upload_blob(
            payload,
            length=content.size,
            overwrite=False,
            metadata=archive_metadata(chunk, content),
            content_settings=content_settings(content_type),
            max_concurrency=1,
        )
    except ResourceExistsError as error:
        settle_conflict(blob, chunk, content, error)


def archive_metadata(chunk: ChunkJob, content: StoredContent) -> dict[str, str]:
    """What makes an archived blob verifiable later (`verified_content`)."""
    return {
        "sha256": content.sha256,
        "size": str(content.size),
        "source_document_id": chunk.document_id,
        "chunk_index": str(chunk.index),
    }


def content_settings(content_type: str) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type)


def settle_conflict(blob: BlobClient, chunk: ChunkJob, content: StoredContent, error: Exception) -> None:
    """The blob exists already: fine if a concurrent twin archived the same bytes, else an error."""
    existing = verified_content(blob, chunk)
    if existing is None or existing.sha256 != content.sha256:
        raise TransferError(f"chunk {chunk.index} was archived concurrently with different bytes") from error
