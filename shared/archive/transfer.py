"""One chunk: ranged downloads from ACS -> staged blocks -> one verified, conditional commit.

This module decides; shared.archive.range_reads reads from the recording host and
shared.archive.block_blobs writes the archive's blobs. Why this shape:
- Memory is bounded by `(in_flight + 1) x range_bytes` (48 MiB at the defaults), in buffers reused
  for every range, never by the file size: `in_flight` ranges downloading while the oldest finished
  one is hashed. The next range is requested before the oldest is hashed, so hashing (hashlib
  releases the GIL on large buffers) overlaps the downloads instead of holding a download slot.
- Block ids are a function of (offset, length), so a retry, or a concurrent twin run, stages the
  same ids with the same bytes; blocks already staged by a crashed attempt are not uploaded again.
- The SHA-256 is computed over the whole content, in order, while it streams; the total length
  is checked against `Content-Range`; the blob is committed once, with its hash in metadata and
  `If-None-Match: *`, so an archived blob is never rewritten.
- A chunk of at most `single_put_bytes` (32 MiB) is fetched by range into one buffer of its size and
  stored with one conditional Put Blob carrying its hash: fewer round trips per chunk, and storage
  ingests one Put Blob faster than staged blocks (measured on Azurite: benchmarks/README.md). Its
  memory bound is twice that constant (the blob SDK takes only `bytes`: one copy), still flat in
  file size; a crash costs at most 32 MiB of download.
- The metadata document is copied in a thread of its own while the content streams: the
  per-chunk fixed cost (benchmarks/README.md) then has no metadata round trips of its own. The first
  range's buffer is sized by its answer, so a chunk smaller than a range costs its own size.
- A server may ignore `Range` (RFC 9110) and answer 200 with the whole body; then the body is
  read once, in order, into the same pooled buffers and staged as the same blocks: same memory
  bound, same blob, only without parallel reads.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar

from shared.archive import block_blobs
from shared.archive.blob_layout import content_blob_name, media_type
from shared.archive.block_blobs import StoredContent
from shared.archive.chunk_metadata import ArchivedMetadata, archive_metadata
from shared.archive.model import ArchivedChunk, ChunkJob, ChunkTask
from shared.archive.range_reads import (
    TRANSIENT,
    BodyReader,
    Buffers,
    RangeIgnoredError,
    Retries,
    Span,
    Target,
    download,
    fetch_range,
    is_transient,
    parse_content_range,
    plan_ranges,
)
from shared.errors import TransferError, release_frames

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient
    from azure.storage.blob import BlobClient, ContainerClient

_LOG = logging.getLogger(__name__)
MiB: Final = 1024 * 1024
_T = TypeVar("_T")
_S = TypeVar("_S")
Filled = tuple[bytearray, int]  # a pooled buffer and how many of its bytes hold the range


@dataclass(frozen=True)
class TransferOptions:
    """How a chunk is moved: range size, ranges in flight, retries, and the single Put Blob limit."""

    # From the sweep and CPU figures in benchmarks/README.md: each range costs two trips through the
    # SDK pipeline (the 302), and more threads than cores spend CPU on GIL hand-offs; 16 MiB x 2
    # took 0.9 s of client CPU per 400 MiB where 4 MiB x 4 took 1.35 s, at no loss into Azurite.
    range_bytes: int = 16 * MiB
    in_flight: int = 2
    range_attempts: int = 4
    retry_delay_s: float = 0.5
    single_put_bytes: int = 32 * MiB  # up to this size a chunk is one Put Blob (module docstring)

    @property
    def retries(self) -> Retries:
        return Retries(self.range_attempts, self.retry_delay_s)


@dataclass(frozen=True)
class ChunkOutcome:
    """What `archive_chunk` did: the archived chunk, and how (for the activity's log and the tests)."""

    archived: ArchivedChunk
    skipped: bool  # it was archived and verified already; ACS was not asked for the content
    reused_blocks: int  # blocks an earlier, interrupted attempt had staged


def archive_chunk(
    task: ChunkTask,
    *,
    acs: CallAutomationClient,
    container: ContainerClient,
    options: TransferOptions = TransferOptions(),
) -> ChunkOutcome:
    """Archive one chunk's content and metadata; skip the content when already archived and verified.
    The metadata document is shared.archive.chunk_metadata's: it never fails the chunk."""
    chunk = task.chunk
    media = media_type(chunk.content_location, task.format_hint)
    blob_name = content_blob_name(task.prefix, chunk.index, chunk.document_id, media.extension)
    blob = container.get_blob_client(blob_name)

    def copy_metadata() -> ArchivedMetadata:
        return archive_metadata(acs, container, task.prefix, chunk, options.retries)

    existing = block_blobs.verified_content(blob, chunk)
    # Only then is ACS asked: an archived chunk stays archived after its ACS copy is gone.
    if existing is not None:
        metadata, content, reused = copy_metadata(), existing, 0
    else:
        transfer = _ContentTransfer(acs, chunk, blob, media.content_type, options)
        streamed, metadata = _alongside(copy_metadata, transfer.run)
        content, reused = streamed.content, streamed.reused_blocks
    archived = ArchivedChunk(
        index=chunk.index,
        document_id=chunk.document_id,
        blob_name=blob_name,
        metadata_blob_name=metadata.blob_name,
        size=content.size,
        sha256=content.sha256,
        content_type=media.content_type,
        end_reason=chunk.end_reason,
        delete_location=chunk.delete_location,
        metadata_size=metadata.size,
        metadata_sha256=metadata.sha256,
        metadata_problem=metadata.problem,
        duration_ms=metadata.duration_ms,
    )
    return ChunkOutcome(archived, skipped=existing is not None, reused_blocks=reused)


def _alongside(side: Callable[[], _S], main: Callable[[], _T]) -> tuple[_T, _S]:
    """`main` while `side` runs in a thread of its own; both must succeed. The metadata document
    (two requests through the 302 and a Put Blob) then costs a chunk no time of its own. When
    `main` fails, its error is the one raised, after `side` has finished (no thread outlives us)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="metadata") as pool:
        done = pool.submit(side)
        result = main()
        return result, done.result()


@dataclass(frozen=True)
class _Streamed:
    content: StoredContent
    reused_blocks: int = 0


class _FirstRange:
    """The first range's buffer, sized by its answer. Whoever takes it owns it: the holder forgets it,
    so the taker's reference is the only one and `del` frees it (a chunk's buffers must not outlive
    their use; benchmarks/README.md, memory)."""

    def __init__(self) -> None:
        self._buffer: bytearray | None = None

    def allocate(self, length: int) -> bytearray:
        if self._buffer is None or len(self._buffer) != length:
            self._buffer = bytearray(length)
        return self._buffer

    def take(self) -> bytearray:
        buffer, self._buffer = self._buffer, None
        if buffer is None:
            raise RuntimeError("the first range was taken twice")
        return buffer


class _ContentTransfer:
    """One chunk's content from the recording host into its blob, verified: the paths the module
    docstring describes, sharing the chunk, the blob and the options instead of passing them along."""

    def __init__(
        self,
        acs: CallAutomationClient,
        chunk: ChunkJob,
        blob: BlobClient,
        content_type: str,
        options: TransferOptions,
    ) -> None:
        self._acs, self._chunk, self._blob = acs, chunk, blob
        self._content_type, self._options = content_type, options

    def run(self) -> _Streamed:
        try:
            return self._ranged()
        except RangeIgnoredError as ignored:
            total = ignored.total
        # Outside the handler: its traceback would keep the ranged attempt's buffers alive.
        _LOG.info(
            "chunk %d: the recording host ignored Range; reading the whole body in order", self._chunk.index
        )
        return self._whole(total)

    def _fetch(self, span: Span, into: Target, total: int | None) -> tuple[int, int]:
        return fetch_range(
            self._acs, self._chunk.content_location, span, self._options.retries, into, total=total
        )

    def _ranged(self) -> _Streamed:
        options = self._options
        first_range = _FirstRange()
        size, total = self._fetch((0, options.range_bytes), first_range.allocate, None)
        if total <= options.single_put_bytes:
            return self._put_whole(first_range, size, total)
        first = first_range.take()
        buffers = Buffers(options.in_flight + 1, min(options.range_bytes, total), taken=1)
        ranges = plan_ranges(total, options.range_bytes)
        staged = block_blobs.staged_blocks(self._blob)
        digest = hashlib.sha256()
        hashed = 0
        with ThreadPoolExecutor(max_workers=options.in_flight, thread_name_prefix="range") as pool:

            def submit(span: Span) -> Future[Filled]:
                return pool.submit(self._fetch_and_stage, span, staged, total, buffers)

            def stage_first() -> Filled:
                block_blobs.stage(self._blob, ranges[0], first, size, staged)
                return first, size

            window: deque[Future[Filled]] = deque([pool.submit(stage_first)] if ranges else [])
            pending = iter(ranges[1:])
            _fill(window, pending, options.in_flight, submit)
            while window:
                buffer, length = window.popleft().result()
                _fill(
                    window, pending, options.in_flight, submit
                )  # before hashing: downloads never wait on it
                with memoryview(buffer) as view:
                    digest.update(view[:length])
                hashed += length
                buffers.give(buffer)
        if hashed != total:
            raise TransferError(f"chunk {self._chunk.index}: read {hashed} bytes, Content-Range said {total}")
        content = StoredContent(total, digest.hexdigest())
        block_blobs.commit(self._blob, self._chunk, ranges, content, self._content_type)
        return _Streamed(content, block_blobs.reused_blocks(ranges, staged))

    def _put_whole(self, first_range: _FirstRange, size: int, total: int) -> _Streamed:
        """A small chunk: its other ranges fetched in parallel straight into one buffer behind the
        first range (taken from `first_range` here, so this frame holds the only reference), hashed,
        and stored with one Put Blob that cannot overwrite."""
        first = first_range.take()
        if size == total:  # the first range was the whole chunk: no second buffer
            whole = first
        else:
            whole = bytearray(total)
            with memoryview(first) as read:
                whole[:size] = read[:size]
        del first
        spans = plan_ranges(total, self._options.range_bytes)[1:]
        with memoryview(whole) as view:
            if spans:
                with ThreadPoolExecutor(
                    max_workers=self._options.in_flight, thread_name_prefix="range"
                ) as pool:
                    fetches = [pool.submit(self._fetch, span, view[span[0] :], total) for span in spans]
                    for fetched in fetches:
                        fetched.result()
            content = StoredContent(total, hashlib.sha256(view).hexdigest())
            payload = bytes(view)  # the blob SDK takes only bytes: one copy, then the buffer goes
        del whole
        block_blobs.put_whole(self._blob, self._chunk, payload, content, self._content_type)
        return _Streamed(content)

    def _whole(self, total: int) -> _Streamed:
        """The whole body of a Range-ignoring server, retried from the start when it breaks off
        (blocks staged by an earlier attempt are not uploaded again)."""
        ranges = plan_ranges(total, self._options.range_bytes)
        retries = self._options.retries
        last_error: Exception | None = None
        for attempt in range(retries.attempts):
            staged = block_blobs.staged_blocks(self._blob)
            try:
                sha = self._read_whole(ranges, total, staged)
            except TRANSIENT as error:
                if not is_transient(error):
                    raise
                last_error = error
                release_frames(error)
            else:
                content = StoredContent(total, sha)
                block_blobs.commit(self._blob, self._chunk, ranges, content, self._content_type)
                return _Streamed(content, block_blobs.reused_blocks(ranges, staged))
            time.sleep(retries.delay(last_error, attempt))
        raise TransferError(
            f"chunk {self._chunk.index}: the whole body failed after retries: {type(last_error).__name__}"
        )

    def _read_whole(self, ranges: list[Span], total: int, staged: dict[str, int]) -> str:
        """One GET of the whole body: hashed in order, staged range by range while the next is read."""
        response = download(self._acs, self._chunk.content_location)
        try:
            if response.status_code != 200:
                raise TransferError(f"unexpected download answer {response.status_code}")
            bounds = parse_content_range(response.headers.get("Content-Range"))
            size = bounds[2] if bounds else int(response.headers.get("Content-Length") or -1)
            if size != total:
                raise TransferError(f"the recording changed size from {total} to {size} bytes")
            buffers = Buffers(self._options.in_flight + 1, self._options.range_bytes)
            reader = BodyReader(response.iter_bytes())
            digest = hashlib.sha256()
            with ThreadPoolExecutor(max_workers=self._options.in_flight, thread_name_prefix="stage") as pool:
                stages: list[Future[None]] = []
                for span in ranges:
                    buffer = buffers.take()  # waits while every buffer is being staged: bounded memory
                    try:
                        reader.fill(buffer, span[1])
                    except BaseException:
                        buffers.give(buffer)
                        raise
                    with memoryview(buffer) as view:
                        digest.update(view[: span[1]])
                    stages.append(pool.submit(self._stage_and_give, span, buffer, staged, buffers))
                reader.require_end()
                for stage in stages:
                    stage.result()
            return digest.hexdigest()
        finally:
            response.close()

    def _stage_and_give(
        self, span: Span, buffer: bytearray, staged: dict[str, int], buffers: Buffers
    ) -> None:
        try:
            block_blobs.stage(self._blob, span, buffer, span[1], staged)
        finally:
            buffers.give(buffer)

    def _fetch_and_stage(self, span: Span, staged: dict[str, int], total: int, buffers: Buffers) -> Filled:
        buffer = buffers.take()
        try:
            length, _ = self._fetch(span, buffer, total)
            block_blobs.stage(self._blob, span, buffer, length, staged)
        except BaseException:
            buffers.give(buffer)
            raise
        return buffer, length


def _fill(
    window: deque[Future[Filled]],
    pending: Iterator[Span],
    limit: int,
    submit: Callable[[Span], Future[Filled]],
) -> None:
    while len(window) < limit:
        next_range = next(pending, None)
        if next_range is None:
            return
        window.append(submit(next_range))
