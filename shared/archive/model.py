"""The archive's data shapes, and the manifest's rules (pure, no I/O).

Everything that crosses the Durable boundary (orchestrator input, activity inputs and results,
sub-orchestration inputs and results) or is stored (the job in `event.json`, the manifest) is a
frozen dataclass here, written and read by one codec (shared.wire), camelCase on the wire.

The manifest's rules live beside its shape because three places act on it: the orchestrator
builds it, the `record_archive` activity writes it, and `DELETE .../content` reads and rewrites
it. What "verified" means, which chunks may lose their ACS copy, and what may replace what are
written here once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Literal

from shared.archive.blob_layout import event_blob_name, manifest_blob_name
from shared.archive.states import ArchiveStatus
from shared.recording_ids import instance_id_of_key
from shared.wire import Wire

SourceDeletion = Literal["notRequested", "pending", "skippedArchiveFailed", "deleted"]
Phase = Literal["archiving", "retrying", "deletingSource", "done", "lost"]
MetadataProblem = Literal["notJson", "unavailable"]
MAX_ERROR_LENGTH: Final = 500


@dataclass(frozen=True)
class ChunkJob(Wire):
    """One recording chunk to archive, as the event named it (URLs already allow-listed)."""

    index: int
    document_id: str
    content_location: str
    metadata_location: str
    delete_location: str | None  # absent in some event versions: the ACS copy is then kept
    end_reason: str = ""


@dataclass(frozen=True)
class ArchiveJob(Wire):
    """Everything the archive needs, derived once from one event and stored as `event.json`."""

    recording_key: str
    recording_id: str | None
    server_call_id: str | None
    event_id: str
    event_time: str
    start_time: str
    duration_ms: int | None
    session_end_reason: str
    format_hint: str | None
    prefix: str  # where every blob of this archive lives (shared.archive.blob_layout)
    chunks: tuple[ChunkJob, ...]

    @property
    def instance_id(self) -> str:
        """The orchestration id: the same recording always maps to the same instance."""
        return instance_id_of_key(self.recording_key)

    @property
    def event_blob_name(self) -> str:
        return event_blob_name(self.prefix)


@dataclass(frozen=True)
class ArchivedChunk(Wire):
    """One chunk archived and verified: the `archive_chunk` activity's result and the manifest's entry."""

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
    # The chunk's metadata document as archived: its own size and SHA-256, or why it is not there as
    # JSON ("notJson": kept as received under `metadataBlobName`; "unavailable": it could not be read).
    metadata_size: int | None = None
    metadata_sha256: str | None = None
    metadata_problem: MetadataProblem | None = None
    duration_ms: int | None = None  # the metadata document's `chunkDuration`, when it gives one

    @property
    def source_deletable(self) -> bool:
        """Verified here, still in ACS, and ACS said where to delete it."""
        return bool(self.sha256) and self.delete_location is not None and not self.source_deleted


@dataclass(frozen=True)
class ChunkTask(Wire):
    """The `archive_chunk` activity's input."""

    chunk: ChunkJob
    prefix: str
    format_hint: str | None
    recording_id: str | None = None  # for telemetry only (a payload of an older run has none)

    @property
    def instance_id(self) -> str:
        """The archive's orchestration id, from the prefix's last part (the recording key)."""
        return instance_id_of_key(self.prefix.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class ChunkBatch(Wire):
    """Chunks archived together: in-line for a short recording, a sub-orchestration's input for a long one."""

    chunks: tuple[ChunkJob, ...]
    prefix: str
    format_hint: str | None
    recording_id: str | None = None

    def tasks(self) -> list[ChunkTask]:
        return [ChunkTask(chunk, self.prefix, self.format_hint, self.recording_id) for chunk in self.chunks]


@dataclass(frozen=True)
class ChunkAttempt(Wire):
    """The `archive_chunk` activity's result: the chunk archived, or why not. The activity never
    fails for a chunk's own trouble (Durable's fan-in would drop its siblings' answers); it says so."""

    index: int
    archived: ArchivedChunk | None = None
    error: str | None = None  # one short line: never a traceback, a path or a URL's query
    gone: bool = False  # ACS answered 404 or 410 for the content: it may be gone for good


@dataclass(frozen=True)
class BatchOutcome(Wire):
    """What one pass over a batch found: a sub-orchestration's result."""

    attempts: tuple[ChunkAttempt, ...]


@dataclass(frozen=True)
class RetryPolicy(Wire):
    """How an archive that keeps failing is retried, and until when (settings, fixed at the start)."""

    deadline: str  # after this, a chunk still unverified is Lost (file event + ARCHIVE_DEADLINE_HOURS)
    first_wait_s: int = 30
    max_wait_s: int = 600
    lost_after_s: int = 1800  # a chunk ACS says is gone on every attempt for this long is Lost

    def wait_s(self, attempt: int) -> int:
        """The wait after round `attempt` (1, 2, ...): capped exponential backoff."""
        return int(min(self.first_wait_s * 2 ** min(attempt - 1, 30), self.max_wait_s))


@dataclass(frozen=True)
class Unverified(Wire):
    """A chunk not archived yet, carried from round to round."""

    index: int
    error: str
    gone_since: str | None = None  # when ACS first said 404/410 in an unbroken run of such answers
    lost: bool = False


@dataclass(frozen=True)
class ArchiveRun(Wire):
    """The archive orchestration's input, one per round: the job, what is verified so far, what is
    not, and the policy. Each round ends in `continue_as_new`, so history stays one round long."""

    job: ArchiveJob
    delete_source: bool
    policy: RetryPolicy
    attempt: int = 1
    verified: tuple[ArchivedChunk, ...] = ()
    unverified: tuple[Unverified, ...] = ()

    def pending(self) -> tuple[ChunkJob, ...]:
        """The chunks this round tries: neither verified nor lost."""
        done = {c.index for c in self.verified} | {u.index for u in self.unverified if u.lost}
        return tuple(chunk for chunk in self.job.chunks if chunk.index not in done)


@dataclass(frozen=True)
class ArchiveProgress(Wire):
    """The orchestration's custom status: what `GET .../archive` shows while the archive runs."""

    phase: Phase
    chunks_done: int
    chunks_total: int
    chunks_failed: int
    bytes_done: int
    attempt: int = 1
    next_attempt_at: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class ArchiveResult(Wire):
    """The orchestration's output once the archive is verified."""

    manifest: str  # the manifest's blob name
    chunks: int
    bytes: int


@dataclass(frozen=True)
class Manifest(Wire):
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
    chunks: tuple[ArchivedChunk, ...]
    source_deletion: SourceDeletion
    errors: tuple[str, ...]  # one short line per chunk not verified (yet)
    attempt: int = 1
    next_attempt_at: str | None = None  # Retrying: when the next round starts
    deadline: str | None = None  # a chunk still unverified then is Lost
    lost: tuple[Unverified, ...] = ()  # Lost: which chunks, and why

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
            self.status == ArchiveStatus.COMPLETED
            and len(self.chunks) == self.chunks_expected == len(indexes)
            and all(chunk.sha256 for chunk in self.chunks)
        )

    def verified_chunk(self, index: int) -> ArchivedChunk | None:
        """Chunk `index` if it was archived and verified (it has a SHA-256): the only kind a
        download link may name."""
        for chunk in self.chunks:
            if chunk.index == index and chunk.sha256 and chunk.blob_name:
                return chunk
        return None

    def source_deletable(self) -> list[ArchivedChunk]:
        """The chunks whose ACS copy may be deleted now: none unless the archive is verified."""
        return [chunk for chunk in self.chunks if chunk.source_deletable] if self.verified else []

    def with_source_deleted(self, indexes: set[int]) -> Manifest:
        """After the ACS copies of the chunks `indexes` were deleted (or found already gone); the
        deletion is done when no chunk with a delete location is left out."""
        chunks = tuple(
            replace(chunk, source_deleted=True) if chunk.index in indexes else chunk for chunk in self.chunks
        )
        left = [chunk for chunk in chunks if chunk.delete_location and not chunk.source_deleted]
        return replace(self, chunks=chunks, source_deletion="pending" if left else "deleted")

    def may_replace(self, previous: Manifest | None) -> bool:
        """A completed manifest is never replaced by one that is not: a re-run that failed (say its
        ACS copy expired) must not erase the record of a verified archive."""
        return (
            previous is None
            or previous.status != ArchiveStatus.COMPLETED
            or self.status == ArchiveStatus.COMPLETED
        )

    def summary(self, container: str, since: str) -> ArchiveSummary:
        """What the catalog keeps of this manifest (`since`: when the archive entered its status)."""
        return ArchiveSummary(
            status=self.status,
            since=since,
            prefix=self.prefix,
            manifest_blob_name=self.blob_name,
            container=container,
            chunks=len(self.chunks),
            bytes=self.total_bytes,
            source_deletion=self.source_deletion,
            archived_at=self.recorded_at,
            attempt=self.attempt,
            next_attempt_at=self.next_attempt_at,
            last_error=self.errors[0] if self.errors else None,
            lost_chunks=len(self.lost),
        )

    def document(self) -> dict[str, Any]:
        """The stored manifest (and `GET .../archive`'s `manifest`): the fields plus two derived ones."""
        return {**self.to_json(), "manifestBlobName": self.blob_name, "totalBytes": self.total_bytes}


@dataclass(frozen=True)
class ArchiveSummary(Wire):
    """The catalog entry's `archive` (OpenAPI: CatalogEntry.archive): where the archive stands, since
    when, and where its blobs are, without reading the manifest. Before the file event there is no
    manifest: AwaitingFiles and Overdue have a status and a time only."""

    status: ArchiveStatus
    since: str  # when the archive entered `status`
    prefix: str | None = None
    manifest_blob_name: str | None = None
    container: str | None = None
    chunks: int = 0
    bytes: int = 0
    source_deletion: SourceDeletion = "notRequested"
    archived_at: str | None = None  # when the manifest was last written
    attempt: int | None = None
    next_attempt_at: str | None = None
    last_error: str | None = None
    lost_chunks: int = 0
    expired_at: str | None = None
    previous_status: ArchiveStatus | None = None


def build_manifest(
    run: ArchiveRun,
    *,
    status: ArchiveStatus,
    instance_id: str,
    recorded_at: datetime,
    unverified: tuple[Unverified, ...] = (),
    next_attempt_at: datetime | None = None,
) -> Manifest:
    """The manifest at the end of a round: its verified chunks, what is still missing and why, and
    (Completed only) whether the ACS copy is now to be deleted."""
    job = run.job
    deletion: SourceDeletion = "notRequested"
    if run.delete_source:
        deletion = "pending" if status == ArchiveStatus.COMPLETED else "skippedArchiveFailed"
    return Manifest(
        recording_id=job.recording_id,
        recording_key=job.recording_key,
        server_call_id=job.server_call_id,
        instance_id=instance_id,
        status=status,
        event_id=job.event_id,
        event_time=job.event_time,
        recording_start_time=job.start_time,
        recording_duration_ms=job.duration_ms,
        session_end_reason=job.session_end_reason,
        recorded_at=recorded_at.isoformat(),
        prefix=job.prefix,
        chunks_expected=len(job.chunks),
        chunks=tuple(sorted(run.verified, key=lambda c: c.index)),
        source_deletion=deletion,
        errors=tuple(f"chunk {u.index}: {u.error}"[:MAX_ERROR_LENGTH] for u in unverified),
        attempt=run.attempt,
        next_attempt_at=next_attempt_at.isoformat() if next_attempt_at else None,
        deadline=run.policy.deadline,
        lost=tuple(u for u in unverified if u.lost),
    )
