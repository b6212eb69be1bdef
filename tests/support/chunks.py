"""The app's view of an emulator chunk: what a RecordingFileStatusUpdated event would give it."""

from __future__ import annotations

from devtools.acs_emulator.recording_files import RecordingChunk
from shared.archive.model import ChunkJob, ChunkTask


def chunk_job(source: RecordingChunk) -> ChunkJob:
    return ChunkJob(
        index=source.index,
        document_id=source.document_id,
        content_location=source.content_location,
        metadata_location=source.metadata_location,
        delete_location=source.delete_location,
        end_reason=source.end_reason,
    )


def chunk_task(source: RecordingChunk | ChunkJob, prefix: str, format_hint: str | None = None) -> ChunkTask:
    """The `archive_chunk` activity's input for one chunk."""
    job = source if isinstance(source, ChunkJob) else chunk_job(source)
    return ChunkTask(job, prefix, format_hint)
