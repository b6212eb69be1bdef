"""The archive manifest: its typed shape and the rules about it (pure, no I/O).

One owner, because three places act on it: the orchestrator builds it, the `record_archive`
activity writes it, and `DELETE .../content` reads and rewrites it. What "verified" means, which
chunks may lose their ACS copy, and what marking them deleted changes are written here once.
The JSON keys are the blob's (and `GET .../archive`'s) documented camelCase shape.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal, cast

from shared.archive.blob_layout import manifest_blob_name
from shared.archive.events import ArchiveJob
from shared.archive.transfer import ChunkArchive

ArchiveStatus = Literal["Completed", "Failed"]
SourceDeletion = Literal["notRequested", "pending", "skippedArchiveFailed", "deleted"]
COMPLETED: Final = "Completed"
_MAX_ERROR: Final = 500


@dataclass(frozen=True)
class ManifestChunk:
    """One archived chunk: where its blobs are, its SHA-256, and its ACS copy."""

    index: int
    document_id: str
    blob_name: str
    metadata_blob_name: str
    size: int
    sha256: str
    content_type: str
    end_reason: str
    delete_location: str | None
    source_deleted: bool = False

    @classmethod
    def archived(cls, chunk: ChunkArchive) -> ManifestChunk:
        return cls(
            index=chunk.index,
            document_id=chunk.document_id,
            blob_name=chunk.blob_name,
            metadata_blob_name=chunk.metadata_blob_name,
            size=chunk.size,
            sha256=chunk.sha256,
            content_type=chunk.content_type,
            end_reason=chunk.end_reason,
            delete_location=chunk.delete_location,
        )

    @property
    def source_deletable(self) -> bool:
        """Verified here, still in ACS, and ACS said where to delete it."""
        return bool(self.sha256) and self.delete_location is not None and not self.source_deleted

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "documentId": self.document_id,
            "blobName": self.blob_name,
            "metadataBlobName": self.metadata_blob_name,
            "size": self.size,
            "sha256": self.sha256,
            "contentType": self.content_type,
            "endReason": self.end_reason,
            "deleteLocation": self.delete_location,
            "sourceDeleted": self.source_deleted,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ManifestChunk:
        location = data.get("deleteLocation")
        return cls(
            index=int(data["index"]),
            document_id=str(data["documentId"]),
            blob_name=str(data["blobName"]),
            metadata_blob_name=str(data["metadataBlobName"]),
            size=int(data["size"]),
            sha256=str(data.get("sha256") or ""),
            content_type=str(data.get("contentType") or ""),
            end_reason=str(data.get("endReason") or ""),
            delete_location=str(location) if location else None,
            source_deleted=bool(data.get("sourceDeleted")),
        )


@dataclass(frozen=True)
class Manifest:
    """The status document of one recording's archive, rewritten as the archive progresses."""

    recording_id: str | None
    recording_key: str
    server_call_id: str | None
    instance_id: str
    status: ArchiveStatus
    event_id: str
    event_time: str
    recording_start_time: str
    recording_duration_ms: int | None
    session_end_reason: str | None
    recorded_at: str
    prefix: str
    chunks_expected: int
    chunks: tuple[ManifestChunk, ...]
    source_deletion: SourceDeletion
    errors: tuple[str, ...]

    @property
    def blob_name(self) -> str:
        return manifest_blob_name(self.prefix)

    @property
    def total_bytes(self) -> int:
        return sum(chunk.size for chunk in self.chunks)

    @property
    def verified(self) -> bool:
        """Every expected chunk is archived once, each with its SHA-256: the only state in which
        the ACS copy may be deleted."""
        indexes = {chunk.index for chunk in self.chunks}
        return (
            self.status == COMPLETED
            and len(self.chunks) == self.chunks_expected == len(indexes)
            and all(chunk.sha256 for chunk in self.chunks)
        )

    def verified_chunk(self, index: int) -> ManifestChunk | None:
        """Chunk `index` if it was archived and verified (it has a SHA-256): the only kind a
        download link may name."""
        for chunk in self.chunks:
            if chunk.index == index and chunk.sha256 and chunk.blob_name:
                return chunk
        return None

    def source_deletable(self) -> list[ManifestChunk]:
        """The chunks whose ACS copy may be deleted now: none unless the archive is verified."""
        return [chunk for chunk in self.chunks if chunk.source_deletable] if self.verified else []

    def with_source_deleted(self) -> Manifest:
        """After every deletable chunk's ACS copy was deleted (or found already gone)."""
        chunks = tuple(
            replace(chunk, source_deleted=True) if chunk.delete_location else chunk for chunk in self.chunks
        )
        return replace(self, chunks=chunks, source_deletion="deleted")

    def may_replace(self, previous: Manifest | None) -> bool:
        """A completed manifest is never replaced by one that is not: a re-run that failed (say its
        ACS copy expired) must not erase the record of a verified archive."""
        return previous is None or previous.status != COMPLETED or self.status == COMPLETED

    def catalog_summary(self, container: str) -> dict[str, Any]:
        """What the catalog keeps of the archive (OpenAPI: the catalog entry's `archive`)."""
        return {
            "status": self.status,
            "manifestBlobName": self.blob_name,
            "container": container,
            "chunks": len(self.chunks),
            "bytes": self.total_bytes,
            "sourceDeletion": self.source_deletion,
            "archivedAt": self.recorded_at,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "recordingId": self.recording_id,
            "recordingKey": self.recording_key,
            "serverCallId": self.server_call_id,
            "instanceId": self.instance_id,
            "status": self.status,
            "eventId": self.event_id,
            "eventTime": self.event_time,
            "recordingStartTime": self.recording_start_time,
            "recordingDurationMs": self.recording_duration_ms,
            "sessionEndReason": self.session_end_reason,
            "recordedAt": self.recorded_at,
            "prefix": self.prefix,
            "manifestBlobName": self.blob_name,
            "chunksExpected": self.chunks_expected,
            "chunks": [chunk.to_json() for chunk in self.chunks],
            "totalBytes": self.total_bytes,
            "sourceDeletion": self.source_deletion,
            "errors": list(self.errors),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        duration = data.get("recordingDurationMs")
        return cls(
            recording_id=data.get("recordingId"),
            recording_key=str(data["recordingKey"]),
            server_call_id=data.get("serverCallId"),
            instance_id=str(data.get("instanceId") or ""),
            status=COMPLETED if data.get("status") == COMPLETED else "Failed",
            event_id=str(data.get("eventId") or ""),
            event_time=str(data.get("eventTime") or ""),
            recording_start_time=str(data.get("recordingStartTime") or ""),
            recording_duration_ms=int(duration) if duration is not None else None,
            session_end_reason=data.get("sessionEndReason"),
            recorded_at=str(data.get("recordedAt") or ""),
            prefix=str(data["prefix"]),
            chunks_expected=int(data.get("chunksExpected") or 0),
            chunks=tuple(ManifestChunk.from_json(chunk) for chunk in data.get("chunks") or []),
            source_deletion=_source_deletion(data.get("sourceDeletion")),
            errors=tuple(str(error) for error in data.get("errors") or []),
        )


def build_manifest(
    job: ArchiveJob,
    *,
    prefix: str,
    instance_id: str,
    recorded_at: datetime,
    archived: list[ChunkArchive],
    errors: list[str],
    delete_source: bool,
) -> Manifest:
    """The manifest of one run of the orchestration: Completed only when every chunk arrived and
    nothing failed; the ACS copy's deletion is pending only then."""
    chunks = tuple(ManifestChunk.archived(chunk) for chunk in sorted(archived, key=lambda c: c.index))
    complete = not errors and len(chunks) == len(job.chunks)
    deletion: SourceDeletion = "notRequested"
    if delete_source:
        deletion = "pending" if complete else "skippedArchiveFailed"
    return Manifest(
        recording_id=job.recording_id,
        recording_key=job.recording_key,
        server_call_id=job.server_call_id,
        instance_id=instance_id,
        status=COMPLETED if complete else "Failed",
        event_id=job.event_id,
        event_time=job.event_time,
        recording_start_time=job.start_time,
        recording_duration_ms=job.duration_ms,
        session_end_reason=job.session_end_reason,
        recorded_at=recorded_at.isoformat(),
        prefix=prefix,
        chunks_expected=len(job.chunks),
        chunks=chunks,
        source_deletion=deletion,
        errors=tuple(error[:_MAX_ERROR] for error in errors),
    )


def _source_deletion(value: object) -> SourceDeletion:
    known = ("notRequested", "pending", "skippedArchiveFailed", "deleted")
    return cast(SourceDeletion, value) if value in known else "notRequested"
