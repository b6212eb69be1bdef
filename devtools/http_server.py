"""The threading HTTP server every local stand-in uses (local host, Durable API, ACS emulator),
and the one way they read a request body (Content-Length or chunked).

Two defaults of `http.server` make it stall where the real front ends do not:
- the listen backlog of 5 drops or resets connections when a burst arrives faster than they are
  accepted (20 concurrent clients were enough); the kernel caps 1024 at somaxconn;
- headers and body are separate writes, so without TCP_NODELAY Nagle holds a small body until the
  client's delayed ACK: 40 ms per small answer. HTTP.sys and Kestrel set it.
"""

from __future__ import annotations

import re
import socket
import threading
from email.message import Message
from http.server import ThreadingHTTPServer
from typing import Any, Final, Protocol


def serve_in_background(server: ThreadingHTTPServer, name: str) -> threading.Thread:
    """Serve `server` from a daemon thread named `name` (started)."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    return thread


def shut_down(server: ThreadingHTTPServer | None) -> None:
    """Stop serving and close the socket (no-op for None: a server already stopped)."""
    if server is not None:
        server.shutdown()
        server.server_close()


class LoopbackHttpServer(ThreadingHTTPServer):
    request_queue_size = 1024

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _Reader(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int = ..., /) -> bytes: ...


class BodyError(Exception):
    """The request body cannot be read as framed; `status` is the answer (400, 413 or 501)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


_DIGITS: Final = re.compile(r"[0-9]+")
_HEX_DIGITS: Final = re.compile(rb"[0-9A-Fa-f]+")


def read_body(rfile: _Reader, headers: Message, limit: int) -> bytes:
    """The request body, framed by `Transfer-Encoding: chunked` (which wins, RFC 9112 6.3) or by
    `Content-Length`; none of them is an empty body. Never guesses where a body ends."""
    encoding = (headers.get("Transfer-Encoding") or "").strip().lower()
    if encoding:
        if encoding != "chunked":
            raise BodyError(501, f"Transfer-Encoding {encoding!r} is not supported.")
        return _read_chunked(rfile, limit)
    declared = (headers.get("Content-Length") or "").strip()
    if not declared:
        return b""
    if not _DIGITS.fullmatch(declared):  # str.isdigit() also takes `²`, which int() refuses
        raise BodyError(400, "Invalid Content-Length.")
    length = int(declared)
    if length > limit:
        raise BodyError(413, "Request body too large.")
    body = rfile.read(length)
    if len(body) != length:
        raise BodyError(400, "Request body shorter than Content-Length.")
    return body


def _read_chunked(rfile: _Reader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = rfile.readline(1024).split(b";", 1)[0].strip()
        if not _HEX_DIGITS.fullmatch(size_line):  # int(_, 16) also takes `0x3`, `+3` and `1_0`
            raise BodyError(400, "Malformed chunked body.")
        size = int(size_line, 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # discard trailers
            return b"".join(chunks)
        total += size
        if total > limit:
            raise BodyError(413, "Request body too large.")
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise BodyError(400, "Chunked body ended early.")
        chunks.append(chunk)
        if rfile.readline(1024) not in (b"\r\n", b"\n"):  # each chunk ends with its line end
            raise BodyError(400, "Malformed chunked body.")
