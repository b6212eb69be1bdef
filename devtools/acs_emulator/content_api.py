"""The recording content plane: download and delete of recording documents.

``GET /v1/objects/{documentId}/content/{kind}`` and ``DELETE /v1/objects/{documentId}``.

Authentication is what the SDK's downloader does: HMAC over the *resource* host (the emulator's
``host:port``, not the content host in the URL), with ``x-ms-host: <resource hostname>``.

Downloads are redirected as in the capture (download-responses.real.json, ``redirect_then_ok``):
the recording host (``us-storage.asm.skype.com``) checks the signature and answers ``302`` with
``Location`` on a regional host, which serves the bytes. The SDK's pipeline follows the redirect
and, the host having changed, drops ``Authorization``; so the regional host asks for none.
UNVERIFIED: the capture's hosts were sanitized ("endpoint" -> "endpoint-sa") and its headers do not
show whether the regional host wants a credential; no query token is shown on ``Location``.
The regional host name here (``eus-storage.asm.skype.com``) is INFERRED. Deletes are not
redirected (the captured delete answers 200 at ``us-storage.asm.skype.com``).

Responses follow the captures (download-responses.real.json, recording-metadata.real.json):
``Content-Type: application/octet-stream`` for every file (metadata too), ``Content-Range`` also
on a 200 without a Range header, ``Cache-Control: no-cache, max-age=0, s-maxage=0, private``,
``Last-Modified``; delete answers 200. Bodies are streamed in bounded pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import format_datetime

from .http_types import ApiError, Request, Response
from .media import Content
from .recording_files import SUFFIX_METADATA, ContentStore, DocumentNotFoundError, RecordingChunk

CONTENT_PATH = re.compile(r"^/v1/objects/(?P<id>[^/]+)/content/(?P<kind>[^/]+)$")
OBJECT_PATH = re.compile(r"^/v1/objects/(?P<id>[^/]+)$")
CACHE_CONTROL = "no-cache, max-age=0, s-maxage=0, private"
_RANGE = re.compile(r"^\s*bytes\s*=\s*(?P<first>\d*)\s*-\s*(?P<last>\d*)\s*$", re.IGNORECASE)


def document_not_found() -> ApiError:
    # UNVERIFIED: the storage host's 404 body is not captured; the SDK only needs the status (it
    # maps 404 to ResourceNotFoundError) and parses a CommunicationErrorResponse if present.
    return ApiError(404, "NotFound", "The requested recording document was not found.")


class RangeNotSatisfiableError(Exception):
    pass


def parse_range(value: str | None, total: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` for a single ``bytes=`` range, or None to serve the whole file.

    Supports ``a-b``, ``a-`` and suffix ``-n``. Syntactically invalid or multi-range headers are
    ignored (RFC 9110 allows that); UNVERIFIED how the real storage host treats them.
    """
    if value is None:
        return None
    found = _RANGE.match(value)
    if found is None:
        return None
    first_text, last_text = found["first"], found["last"]
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix range: the last n bytes
        count = int(last_text)
        if count == 0 or total == 0:
            raise RangeNotSatisfiableError
        return max(0, total - count), total - 1
    first = int(first_text)
    last = int(last_text) if last_text else None
    if last is not None and last < first:
        return None  # invalid range -> ignored
    if first >= total:
        raise RangeNotSatisfiableError
    return first, total - 1 if last is None else min(last, total - 1)


class ContentApi:
    """Download and delete handlers on top of the :class:`ContentStore`."""

    def __init__(
        self,
        store: ContentStore,
        authenticate: Callable[[Request, str], None],
        signing_host: Callable[[], str],
        redirect_to: Callable[[], str | None] = lambda: None,
        ignore_range: Callable[[], bool] = lambda: False,
    ) -> None:
        self._store = store
        self._authenticate = authenticate
        self._signing_host = signing_host
        self._redirect_to = redirect_to  # "host[:port]" downloads are redirected to, or None
        self._ignore_range = ignore_range  # play a server that answers every GET 200, whole body

    def _check_auth(self, request: Request) -> None:
        if not request.header("x-ms-host"):
            # UNVERIFIED: believed required (the SDK always sends it); answered like a bad signature.
            raise ApiError(401, "Denied", "Denied by the resource provider.")
        self._authenticate(request, self._signing_host())

    def _chunk(self, document_id: str) -> RecordingChunk:
        try:
            return self._store.document(document_id)
        except DocumentNotFoundError as exc:
            raise document_not_found() from exc

    def download(self, request: Request, match: re.Match[str]) -> Response:
        regional = self._redirect_to()
        if regional is None:
            self._check_auth(request)
        elif (request.header("Host") or "").lower() != regional.lower():
            self._check_auth(request)
            self._chunk(match["id"])  # an unknown document is a 404 here, not after the redirect
            return Response(302, headers=[("Location", f"https://{regional}{request.target}")])
        chunk = self._chunk(match["id"])
        kind = match["kind"]
        content: Content
        if kind == SUFFIX_METADATA:
            content = chunk.metadata_content
        elif kind == chunk.content_suffix:
            content = chunk.content
        else:
            raise document_not_found()
        total = content.length
        try:
            selected = None if self._ignore_range() else parse_range(request.header("Range"), total)
        except RangeNotSatisfiableError:
            raise ApiError(
                416,
                "RangeNotSatisfiable",
                "The requested range is not satisfiable.",
                headers=[("Content-Range", f"bytes */{total}")],
            ) from None
        first, last = selected if selected is not None else (0, total - 1)
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Cache-Control", CACHE_CONTROL),
            ("Last-Modified", format_datetime(chunk.end_time, usegmt=True)),
        ]
        if total > 0:
            headers.append(("Content-Range", f"bytes {first}-{last}/{total}"))
        length = max(0, last - first + 1)
        return Response(
            status=206 if selected is not None else 200,
            body=content.iter_range(first, last + 1),
            headers=headers,
            content_length=length,
        )

    def delete(self, request: Request, match: re.Match[str]) -> Response:
        self._check_auth(request)
        try:
            self._store.delete(match["id"])
        except DocumentNotFoundError as exc:
            raise document_not_found() from exc
        return Response(200)
