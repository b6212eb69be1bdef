"""Reads from the recording host: one byte range or the whole body, into buffers the caller owns,
retried on resets and throttling, and checked against `Content-Range` before a byte is kept.

The transfer (shared.archive.transfer) decides what to read and where it goes; this module only
reads. Nothing here buffers more than the range it was asked for, so a lying or Range-ignoring
server cannot make the worker allocate more than one range.
"""

from __future__ import annotations

import contextlib
import queue
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from azure.core.exceptions import (
    HttpResponseError,
    IncompleteReadError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import DownloadRefusedError, TransferError, release_frames

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient
    from azure.core.rest import HttpResponse

_CONTENT_RANGE: Final = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_RETRYABLE_STATUS: Final = {408, 429, 500, 502, 503, 504}
_MAX_RETRY_WAIT_S: Final = 30.0

Span = tuple[int, int]  # (offset, length) of one range
# Where a range is read to: a buffer, or a function giving one of the checked answer's length.
Target = bytearray | memoryview | Callable[[int], bytearray]


@dataclass(frozen=True)
class Retries:
    """How often one read is tried, and the backoff between tries (a Retry-After wins, capped)."""

    attempts: int = 4
    delay_s: float = 0.5

    def delay(self, error: Exception | None, attempt: int) -> float:
        """The server's Retry-After when it gave one (capped), else exponential backoff."""
        backoff = self.delay_s * 2.0**attempt
        retry_after = error.retry_after if isinstance(error, DownloadRefusedError) else None
        try:
            delay = float(retry_after) if retry_after is not None else backoff
        except ValueError:
            delay = backoff
        return min(max(delay, 0.0), _MAX_RETRY_WAIT_S) if delay == delay else backoff  # NaN != NaN


def plan_ranges(total: int, range_bytes: int) -> list[Span]:
    """(offset, length) of each range of a `total`-byte chunk."""
    return [(offset, min(range_bytes, total - offset)) for offset in range(0, total, range_bytes)]


def parse_content_range(value: str | None) -> tuple[int, int, int] | None:
    """`bytes a-b/n` -> (a, b, n); None when absent or unparseable."""
    found = _CONTENT_RANGE.fullmatch((value or "").strip())
    return None if found is None else (int(found[1]), int(found[2]), int(found[3]))


class RangeIgnoredError(Exception):
    """A ranged GET was answered 200 with the whole body (`total` bytes): read it in order."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


class ShortReadError(Exception):
    """The body broke off or ended early: worth another attempt."""


TRANSIENT: Final = (ServiceResponseError, ServiceRequestError, ShortReadError, DownloadRefusedError)


def is_transient(error: Exception) -> bool:
    """A reset, a cut-short body or a throttling/5xx answer: worth another attempt."""
    if isinstance(error, DownloadRefusedError):
        return error.status_code in _RETRYABLE_STATUS
    return True


def download(acs: CallAutomationClient, url: str, **kwargs: Any) -> HttpResponse:
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
    release_frames(error)
    return DownloadRefusedError(int(error.status_code or 0), retry_after)


def fetch_range(
    acs: CallAutomationClient, url: str, span: Span, retries: Retries, into: Target, *, total: int | None
) -> tuple[int, int]:
    """GET one byte range into `into`; (bytes read, total size). Retries resets and throttling.

    `total` is None for the first range (its answer tells the size) and the known size after.
    `into` may be a function giving a buffer of the checked answer's length: the first range of
    a small chunk then never costs a whole range of zeroed memory.
    """
    offset, length = span
    last_error: Exception | None = None
    for attempt in range(retries.attempts):
        response = None
        try:
            response = download(acs, url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            expected, size = checked_span(response, offset, length, total)
            read_into(response, into(expected) if callable(into) else into, expected)
            return expected, size
        except TRANSIENT as error:
            if not is_transient(error):
                raise
            last_error = error
            release_frames(error)
        finally:
            if response is not None:
                response.close()
        time.sleep(retries.delay(last_error, attempt))
    raise TransferError(
        f"bytes {offset}-{offset + length - 1} failed after retries: {type(last_error).__name__}"
    )


def checked_span(response: HttpResponse, offset: int, length: int, known_total: int | None) -> Span:
    """(bytes to read, total size) of an answer, which must be exactly the range asked for."""
    bounds = parse_content_range(response.headers.get("Content-Range"))
    if response.status_code == 206 and bounds is not None:
        start, end, total = bounds
    elif response.status_code == 200:  # the whole body, whatever Range said
        total = bounds[2] if bounds else int(response.headers.get("Content-Length") or -1)
        start, end = 0, total - 1
        if total > 0 and (offset, min(offset + length, total) - 1) != (start, end):
            raise RangeIgnoredError(total)
    else:
        raise TransferError(f"unexpected download answer {response.status_code}")
    if known_total is not None and total != known_total:
        raise TransferError(f"the recording changed size from {known_total} to {total} bytes")
    if total < 0 or start != offset or end != min(offset + length, total) - 1:
        raise TransferError(f"asked for bytes {offset}-{offset + length - 1}, got {start}-{end}/{total}")
    return end - start + 1, total


def read_into(response: Any, buffer: bytearray | memoryview, expected: int) -> None:
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
        raise ShortReadError(f"got {position} of {expected} bytes")


def read_document(acs: CallAutomationClient, url: str, limit: int) -> bytes:
    """A small document (the chunk's metadata) whole; TransferError above `limit` bytes."""
    response = download(acs, url)
    try:
        raw = bytearray()
        with _mid_body_errors():
            for piece in response.iter_bytes():
                raw += piece
                if len(raw) > limit:
                    raise TransferError("the metadata document is implausibly large")
        return bytes(raw)
    finally:
        response.close()


@contextlib.contextmanager
def _mid_body_errors() -> Iterator[None]:
    """A reset or cut-short body, however the stack reports it, as one retryable ShortReadError."""
    try:
        yield
    except (ServiceResponseError, IncompleteReadError, OSError) as error:
        raise ShortReadError(str(error)) from error
    except HttpResponseError as error:
        if error.status_code is not None:
            raise
        raise ShortReadError(str(error)) from error  # azure-core's wrapper of a TCP reset mid-body


class Buffers:
    """A fixed set of range-sized buffers, reused for every range.

    Allocating a fresh buffer per range let the allocator's per-thread arenas grow with the
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


class BodyReader:
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
                        raise ShortReadError(f"the body ended {length - position} bytes early")
                take = min(len(self._left), length - position)
                view[position : position + take] = self._left[:take]
                self._left = self._left[take:]
                position += take

    def require_end(self) -> None:
        if self._left or self._next_piece():
            raise TransferError("the recording host sent more bytes than its Content-Range said")
