"""One chunk: ranged downloads from ACS -> staged blocks -> one verified, conditional commit.

Why this shape:
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

import base64
import contextlib
import hashlib
import json
import logging
import queue
import re
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from azure.core.exceptions import (
    HttpResponseError,
    IncompleteReadError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.archive.blob_layout import content_blob_name, media_type, metadata_blob_name
from shared.archive.events import ChunkJob
from shared.errors import DownloadRefusedError, TransferError

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient
    from azure.core.rest import HttpResponse
    from azure.storage.blob import BlobClient, ContainerClient

_LOG = logging.getLogger(__name__)
MiB: Final = 1024 * 1024
MAX_METADATA_BYTES: Final = 4 * MiB
_CONTENT_RANGE: Final = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_RETRYABLE_STATUS: Final = {408, 429, 500, 502, 503, 504}
_T = TypeVar("_T")


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


@dataclass(frozen=True)
class ChunkArchive:
    """What was archived for one chunk: the activity's result, and the manifest's chunk entry
    (shared.archive.manifest) once the orchestrator has them all."""

    index: int
    document_id: str
    blob_name: str
    metadata_blob_name: str
    size: int
    sha256: str
    content_type: str
    end_reason: str
    delete_location: str | None = None
    skipped: bool = False
    reused_blocks: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChunkArchive:
        """From the activity's result in the orchestration history (a result recorded before
        `delete_location` existed has none: its ACS copy is then kept, the safe side)."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)


def block_id(offset: int, length: int) -> str:
    """Deterministic, fixed-width block id (every id in a blob must have the same length)."""
    return base64.b64encode(f"{offset:016d}-{length:012d}".encode()).decode()


def plan_ranges(total: int, range_bytes: int) -> list[tuple[int, int]]:
    """(offset, length) of each range of a `total`-byte chunk."""
    return [(offset, min(range_bytes, total - offset)) for offset in range(0, total, range_bytes)]


def parse_content_range(value: str | None) -> tuple[int, int, int] | None:
    """`bytes a-b/n` -> (a, b, n); None when absent or unparseable."""
    found = _CONTENT_RANGE.fullmatch((value or "").strip())
    return None if found is None else (int(found[1]), int(found[2]), int(found[3]))


def archive_chunk(
    chunk: ChunkJob,
    *,
    prefix: str,
    format_hint: str | None,
    acs: CallAutomationClient,
    container: ContainerClient,
    options: TransferOptions = TransferOptions(),
) -> ChunkArchive:
    """Archive one chunk's content and metadata; skip it when already archived and verified."""
    media = media_type(chunk.content_location, format_hint)
    names = (
        content_blob_name(prefix, chunk.index, chunk.document_id, media.extension),
        metadata_blob_name(prefix, chunk.index, chunk.document_id),
    )
    blob = container.get_blob_client(names[0])
    metadata_blob = container.get_blob_client(names[1])
    existing = _verified_archive(blob, chunk)
    # Only then is ACS asked: an archived chunk stays archived after its ACS copy is gone.
    if existing is not None:
        if not metadata_blob.exists():
            _copy_metadata(acs, chunk, metadata_blob)
        (size, digest), reused = existing, 0
    else:
        size, digest, reused = _alongside(
            lambda: _copy_metadata(acs, chunk, metadata_blob),
            lambda: _stream_content(acs, chunk, blob, media.content_type, options),
        )
    return ChunkArchive(
        chunk.index,
        chunk.document_id,
        *names,
        size,
        digest,
        media.content_type,
        chunk.end_reason,
        delete_location=chunk.delete_location,
        skipped=existing is not None,
        reused_blocks=reused,
    )


def _alongside(side: Callable[[], None], main: Callable[[], _T]) -> _T:
    """`main` while `side` runs in a thread of its own; both must succeed. The metadata document
    (two requests through the 302 and a Put Blob) then costs a chunk no time of its own. When
    `main` fails, its error is the one raised, after `side` has finished (no thread outlives us)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="metadata") as pool:
        done = pool.submit(side)
        result = main()
        done.result()
    return result


def _release_frames(error: BaseException) -> None:
    """Clear the locals of the frames an SDK error's traceback holds. The SDK keeps the error in a
    local of its own frames (a reference cycle), and those frames reach ours, so a chunk's buffers
    lived on until the garbage collector ran: 1 GiB as 4 chunks peaked at two chunks' buffers
    (97 MiB, not 49; benchmarks/README.md). Cleared, they are freed when the chunk ends."""
    traceback.clear_frames(error.__traceback__)


def _verified_archive(blob: BlobClient, chunk: ChunkJob) -> tuple[int, str] | None:
    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError as error:
        _release_frames(error)
        return None
    metadata = properties.metadata or {}
    if metadata.get("source_document_id") != chunk.document_id or not metadata.get("sha256"):
        raise TransferError(f"blob for chunk {chunk.index} exists but is not this chunk's verified archive")
    if str(properties.size) != metadata.get("size"):
        raise TransferError(f"archived blob for chunk {chunk.index} has the wrong size")
    return int(properties.size), metadata["sha256"]


def _copy_metadata(acs: CallAutomationClient, chunk: ChunkJob, target: BlobClient) -> None:
    """The chunk's metadata document, validated as JSON, stored once beside the content."""
    from azure.storage.blob import ContentSettings

    response = _download(acs, chunk.metadata_location)
    raw = bytearray()
    for piece in response.iter_bytes():
        raw += piece
        if len(raw) > MAX_METADATA_BYTES:
            raise TransferError("the metadata document is implausibly large")
    try:
        document = json.loads(bytes(raw))
    except ValueError:
        raise TransferError(f"metadata of chunk {chunk.index} is not JSON") from None
    body = json.dumps(document, indent=2, sort_keys=True).encode()
    with contextlib.suppress(ResourceExistsError):  # stored by an earlier attempt; it never changes
        target.upload_blob(
            body, overwrite=False, content_settings=ContentSettings(content_type="application/json")
        )


class _Buffers:
    """A fixed set of range-sized buffers, reused for every range.

    Allocating a fresh 4 MiB buffer per range let the allocator's per-thread arenas grow with the
    transfer (peak RSS rose with file size); reusing `in_flight + 1` buffers keeps it flat.
    """

    def __init__(self, count: int, size: int, *, taken: int = 0) -> None:
        """`count` buffers of `size` bytes, `taken` of which the caller already holds (allocated
        by it, and given back to this pool when done)."""
        self._free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        for _ in range(count - taken):
            self._free.put(bytearray(size))

    def take(self) -> bytearray:
        return self._free.get()

    def give(self, buffer: bytearray) -> None:
        self._free.put(buffer)


Filled = tuple[bytearray, int]  # a pooled buffer and how many of its bytes hold the range


def _stream_content(
    acs: CallAutomationClient, chunk: ChunkJob, blob: BlobClient, content_type: str, options: TransferOptions
) -> tuple[int, str, int]:
    try:
        return _stream_ranges(acs, chunk, blob, content_type, options)
    except _RangeIgnoredError as ignored:
        total = ignored.total
    # Outside the handler: its traceback would keep the ranged attempt's buffers alive.
    _LOG.info("chunk %d: the recording host ignored Range; reading the whole body in order", chunk.index)
    return _stream_whole(acs, chunk, blob, content_type, options, total)


def _stream_ranges(
    acs: CallAutomationClient, chunk: ChunkJob, blob: BlobClient, content_type: str, options: TransferOptions
) -> tuple[int, str, int]:
    held: list[bytearray] = []  # the first range's buffer, sized by its answer; handed over below

    def allocate(length: int) -> bytearray:
        if not held or len(held[0]) != length:
            held[:] = [bytearray(length)]
        return held[0]

    size, total = _fetch(acs, chunk.content_location, (0, options.range_bytes), options, allocate, total=None)
    if total <= options.single_put_bytes:
        return _put_whole(acs, chunk, blob, content_type, options, held, size, total)
    first = held.pop()
    buffers = _Buffers(options.in_flight + 1, min(options.range_bytes, total), taken=1)
    ranges = plan_ranges(total, options.range_bytes)
    staged = _staged_block_ids(blob)
    digest = hashlib.sha256()
    hashed = 0
    with ThreadPoolExecutor(max_workers=options.in_flight, thread_name_prefix="range") as pool:

        def submit(span: tuple[int, int]) -> Future[Filled]:
            return pool.submit(_fetch_and_stage, acs, chunk, blob, span, staged, options, total, buffers)

        def stage_first() -> Filled:
            _stage(blob, ranges[0], first, size, staged)
            return first, size

        window: deque[Future[Filled]] = deque([pool.submit(stage_first)] if ranges else [])
        pending = iter(ranges[1:])
        _fill(window, pending, options.in_flight, submit)
        while window:
            buffer, length = window.popleft().result()
            _fill(window, pending, options.in_flight, submit)  # before hashing: downloads never wait on it
            with memoryview(buffer) as view:
                digest.update(view[:length])
            hashed += length
            buffers.give(buffer)
    reused = sum(1 for r in ranges if staged.get(block_id(*r)) == r[1])
    if hashed != total:
        raise TransferError(f"chunk {chunk.index}: read {hashed} bytes, Content-Range said {total}")
    sha = digest.hexdigest()
    _commit(blob, chunk, ranges, total, sha, content_type)
    return total, sha, reused


def _put_whole(
    acs: CallAutomationClient,
    chunk: ChunkJob,
    blob: BlobClient,
    content_type: str,
    options: TransferOptions,
    held: list[bytearray],
    size: int,
    total: int,
) -> tuple[int, str, int]:
    """A small chunk: its other ranges fetched in parallel straight into one buffer behind the
    first range (already read into the buffer `held` hands over, which is then the only reference
    to it), hashed, and stored with one Put Blob that cannot overwrite."""
    first = held.pop()
    if size == total:  # the first range was the whole chunk: no second buffer
        whole = first
    else:
        whole = bytearray(total)
        with memoryview(first) as read:
            whole[:size] = read[:size]
    del first
    spans = plan_ranges(total, options.range_bytes)[1:]
    with memoryview(whole) as view:
        if spans:
            with ThreadPoolExecutor(max_workers=options.in_flight, thread_name_prefix="range") as pool:
                fetches = [
                    pool.submit(
                        _fetch, acs, chunk.content_location, span, options, view[span[0] :], total=total
                    )
                    for span in spans
                ]
                for fetched in fetches:
                    fetched.result()
        sha = hashlib.sha256(view).hexdigest()
        payload = bytes(view)  # the blob SDK takes only bytes: one copy, then the buffer goes
    del whole
    try:
        blob.upload_blob(
            payload,
            length=total,
            overwrite=False,  # If-None-Match: *, as the block commit
            metadata=_archive_metadata(chunk, total, sha),
            content_settings=_content_settings(content_type),
            max_concurrency=1,
        )
    except ResourceExistsError as error:
        _settle_conflict(blob, chunk, sha, error)
    return total, sha, 0


def _stream_whole(
    acs: CallAutomationClient,
    chunk: ChunkJob,
    blob: BlobClient,
    content_type: str,
    options: TransferOptions,
    total: int,
) -> tuple[int, str, int]:
    """The whole body of a Range-ignoring server, retried from the start when it breaks off
    (blocks staged by an earlier attempt are not uploaded again)."""
    ranges = plan_ranges(total, options.range_bytes)
    last_error: Exception | None = None
    for attempt in range(options.range_attempts):
        staged = _staged_block_ids(blob)
        try:
            sha = _read_whole(acs, chunk, blob, ranges, total, staged, options)
        except _TRANSIENT as error:
            if not _is_transient(error):
                raise
            last_error = error
            _release_frames(error)
        else:
            reused = sum(1 for r in ranges if staged.get(block_id(*r)) == r[1])
            _commit(blob, chunk, ranges, total, sha, content_type)
            return total, sha, reused
        time.sleep(_retry_delay(last_error, attempt, options))
    raise TransferError(
        f"chunk {chunk.index}: the whole body failed after retries: {type(last_error).__name__}"
    )


def _read_whole(
    acs: CallAutomationClient,
    chunk: ChunkJob,
    blob: BlobClient,
    ranges: list[tuple[int, int]],
    total: int,
    staged: dict[str, int],
    options: TransferOptions,
) -> str:
    """One GET of the whole body: hashed in order, staged range by range while the next is read."""
    response = _download(acs, chunk.content_location)
    try:
        if response.status_code != 200:
            raise TransferError(f"unexpected download answer {response.status_code}")
        bounds = parse_content_range(response.headers.get("Content-Range"))
        size = bounds[2] if bounds else int(response.headers.get("Content-Length") or -1)
        if size != total:
            raise TransferError(f"the recording changed size from {total} to {size} bytes")
        buffers = _Buffers(options.in_flight + 1, options.range_bytes)
        reader = _BodyReader(response.iter_bytes())
        digest = hashlib.sha256()
        with ThreadPoolExecutor(max_workers=options.in_flight, thread_name_prefix="stage") as pool:
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
                stages.append(pool.submit(_stage_and_give, blob, span, buffer, staged, buffers))
            reader.require_end()
            for stage in stages:
                stage.result()
        return digest.hexdigest()
    finally:
        response.close()


def _stage_and_give(
    blob: BlobClient, span: tuple[int, int], buffer: bytearray, staged: dict[str, int], buffers: _Buffers
) -> None:
    try:
        _stage(blob, span, buffer, span[1], staged)
    finally:
        buffers.give(buffer)


class _BodyReader:
    """Exact-size reads from a stream of arbitrarily sized pieces, without joining them."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._left = memoryview(b"")

    def _next_piece(self) -> memoryview:
        with _mid_body_errors():
            return memoryview(next(self._pieces, b""))

    def fill(self, buffer: bytearray, length: int) -> None:
        position = 0
        with memoryview(buffer) as view:
            while position < length:
                if not self._left:
                    self._left = self._next_piece()
                    if not self._left:
                        raise _ShortReadError(f"the body ended {length - position} bytes early")
                take = min(len(self._left), length - position)
                view[position : position + take] = self._left[:take]
                self._left = self._left[take:]
                position += take

    def require_end(self) -> None:
        if self._left or self._next_piece():
            raise TransferError("the recording host sent more bytes than its Content-Range said")


def _fill(
    window: deque[Future[Filled]],
    pending: Iterator[tuple[int, int]],
    limit: int,
    submit: Callable[[tuple[int, int]], Future[Filled]],
) -> None:
    while len(window) < limit:
        next_range = next(pending, None)
        if next_range is None:
            return
        window.append(submit(next_range))


def _fetch_and_stage(
    acs: CallAutomationClient,
    chunk: ChunkJob,
    blob: BlobClient,
    span: tuple[int, int],
    staged: dict[str, int],
    options: TransferOptions,
    total: int,
    buffers: _Buffers,
) -> Filled:
    buffer = buffers.take()
    try:
        length, _ = _fetch(acs, chunk.content_location, span, options, buffer, total=total)
        _stage(blob, span, buffer, length, staged)
    except BaseException:
        buffers.give(buffer)
        raise
    return buffer, length


def _stage(
    blob: BlobClient, span: tuple[int, int], buffer: bytearray, length: int, staged: dict[str, int]
) -> None:
    identifier = block_id(*span)
    if staged.get(identifier) != length:  # reuse a staged block only when its size is right
        with memoryview(buffer) as view:
            # a view, not a copy: checked against Azurite; the SDK's annotation is narrower
            blob.stage_block(identifier, view[:length], length=length)  # type: ignore[arg-type]


def _fetch(
    acs: CallAutomationClient,
    url: str,
    span: tuple[int, int],
    options: TransferOptions,
    buffer: bytearray | memoryview | Callable[[int], bytearray],
    *,
    total: int | None,
) -> tuple[int, int]:
    """GET one byte range into `buffer`; (bytes read, total size). Retries resets and throttling.

    `total` is None for the first range (its answer tells the size) and the known size after.
    `buffer` may be a function giving a buffer of the checked answer's length: the first range of
    a small chunk then never costs a whole range of zeroed memory.
    """
    offset, length = span
    last_error: Exception | None = None
    for attempt in range(options.range_attempts):
        response = None
        try:
            response = _download(acs, url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            expected, size = _checked_span(response, offset, length, total)
            _read_into(response, buffer(expected) if callable(buffer) else buffer, expected)
            return expected, size
        except _TRANSIENT as error:
            if not _is_transient(error):
                raise
            last_error = error
            _release_frames(error)
        finally:
            if response is not None:
                response.close()
        time.sleep(_retry_delay(last_error, attempt, options))
    raise TransferError(
        f"bytes {offset}-{offset + length - 1} failed after retries: {type(last_error).__name__}"
    )


def _checked_span(
    response: HttpResponse, offset: int, length: int, known_total: int | None
) -> tuple[int, int]:
    """(bytes to read, total size) of an answer, which must be exactly the range asked for.

    Nothing is buffered before this passes, so a lying or Range-ignoring server cannot make us
    allocate more than one range.
    """
    bounds = parse_content_range(response.headers.get("Content-Range"))
    if response.status_code == 206 and bounds is not None:
        start, end, total = bounds
    elif response.status_code == 200:  # the whole body, whatever Range said
        total = bounds[2] if bounds else int(response.headers.get("Content-Length") or -1)
        start, end = 0, total - 1
        if total > 0 and (offset, min(offset + length, total) - 1) != (start, end):
            raise _RangeIgnoredError(total)
    else:
        raise TransferError(f"unexpected download answer {response.status_code}")
    if known_total is not None and total != known_total:
        raise TransferError(f"the recording changed size from {known_total} to {total} bytes")
    if total < 0 or start != offset or end != min(offset + length, total) - 1:
        raise TransferError(f"asked for bytes {offset}-{offset + length - 1}, got {start}-{end}/{total}")
    return end - start + 1, total


class _ShortReadError(Exception):
    pass


_TRANSIENT = (ServiceResponseError, ServiceRequestError, _ShortReadError, DownloadRefusedError)


def _is_transient(error: Exception) -> bool:
    """A reset, a cut-short body or a throttling/5xx answer: worth another attempt."""
    if isinstance(error, DownloadRefusedError):
        return error.status_code in _RETRYABLE_STATUS
    return True


class _RangeIgnoredError(Exception):
    """A ranged GET was answered 200 with the whole body (`total` bytes): read it in order."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


def _download(acs: CallAutomationClient, url: str, **kwargs: Any) -> HttpResponse:
    """The SDK annotates `download_recording` as Iterable[bytes] but returns the streaming
    azure-core HttpResponse (its own comment: issue #42835); we need its status and headers.
    An error status becomes DownloadRefusedError (shared.errors says why), its body unread and
    its connection released."""
    try:
        return cast("HttpResponse", acs.download_recording(url, **kwargs))
    except HttpResponseError as error:
        refused = _refusal(error)
    raise refused from None


def _refusal(error: HttpResponseError) -> DownloadRefusedError:
    response: Any = error.response
    retry_after = None if response is None else response.headers.get("Retry-After")
    if response is not None:
        with contextlib.suppress(Exception):
            response.close()
    _release_frames(error)
    return DownloadRefusedError(int(error.status_code or 0), retry_after)


def _read_into(response: Any, buffer: bytearray | memoryview, expected: int) -> None:
    """Exactly `expected` body bytes into the start of `buffer` (checked to fit beforehand)."""
    position = 0
    with memoryview(buffer) as view, _mid_body_errors():
        for piece in response.iter_bytes():
            end = position + len(piece)
            if end > expected:
                raise TransferError("the recording host sent more bytes than the range holds")
            view[position:end] = piece
            position = end
    if position != expected:
        raise _ShortReadError(f"got {position} of {expected} bytes")


@contextlib.contextmanager
def _mid_body_errors() -> Iterator[None]:
    """A reset or cut-short body, however the stack reports it, as one retryable _ShortReadError."""
    try:
        yield
    except (ServiceResponseError, IncompleteReadError, OSError) as error:
        raise _ShortReadError(str(error)) from error
    except HttpResponseError as error:
        if error.status_code is not None:
            raise
        raise _ShortReadError(str(error)) from error  # azure-core's wrapper of a TCP reset mid-body


def _retry_delay(error: Exception | None, attempt: int, options: TransferOptions) -> float:
    """The server's Retry-After when it gave one (capped), else exponential backoff."""
    backoff = options.retry_delay_s * 2.0**attempt
    retry_after = error.retry_after if isinstance(error, DownloadRefusedError) else None
    try:
        delay = float(retry_after) if retry_after is not None else backoff
    except ValueError:
        delay = backoff
    return min(max(delay, 0.0), 30.0) if delay == delay else backoff  # NaN != NaN


def _staged_block_ids(blob: BlobClient) -> dict[str, int]:
    """Blocks an earlier attempt staged: id -> size."""
    try:
        _, uncommitted = blob.get_block_list("uncommitted")
    except ResourceNotFoundError as error:
        _release_frames(error)
        return {}
    return {block.id: block.size for block in uncommitted}


def _commit(
    blob: BlobClient, chunk: ChunkJob, ranges: list[tuple[int, int]], total: int, sha: str, content_type: str
) -> None:
    from azure.storage.blob import BlobBlock

    try:
        blob.commit_block_list(
            [BlobBlock(block_id(*r)) for r in ranges],
            metadata=_archive_metadata(chunk, total, sha),
            content_settings=_content_settings(content_type),
            if_none_match="*",
        )
    except (ResourceExistsError, HttpResponseError) as error:
        if getattr(error, "status_code", None) not in (409, 412):
            raise
        _settle_conflict(blob, chunk, sha, error)
        return
    properties = blob.get_blob_properties()
    if properties.size != total:
        raise TransferError(f"committed blob has {properties.size} bytes, expected {total}")


def _archive_metadata(chunk: ChunkJob, total: int, sha: str) -> dict[str, str]:
    """What makes an archived blob verifiable later (`_verified_archive`)."""
    return {
        "sha256": sha,
        "size": str(total),
        "source_document_id": chunk.document_id,
        "chunk_index": str(chunk.index),
    }


def _content_settings(content_type: str) -> Any:
    from azure.storage.blob import ContentSettings

    return ContentSettings(content_type=content_type)


def _settle_conflict(blob: BlobClient, chunk: ChunkJob, sha: str, error: Exception) -> None:
    """The blob exists already: fine if a concurrent twin archived the same bytes, else an error."""
    existing = _verified_archive(blob, chunk)
    if existing is None or existing[1] != sha:
        raise TransferError(f"chunk {chunk.index} was archived concurrently with different bytes") from error
