"""HTTPS/1.1 plumbing on the standard library: TLS per connection, keep-alive, exact framing.

Everything protocol-level lives here (reading bodies by Content-Length or chunked encoding,
always framing responses, never letting an exception kill a connection thread without an answer);
the application only sees :class:`Request` and returns :class:`Response`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.http_server import BodyError, LoopbackHttpServer, read_body

from .http_types import JSON_CONTENT_TYPE, ApiError, ConnectionAbortError, Request, Response, internal_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 * 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
LINGER_SECONDS = 0.5


class Application(Protocol):
    """What the HTTP layer needs from the emulator."""

    def handle(self, request: Request) -> Response: ...

    def finalize(self, request: Request, response: Response) -> None: ...


class TlsHttpServer(LoopbackHttpServer):
    """Threading server that performs the TLS handshake in the connection's own thread."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, app: Application) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.tls_context = context
        self.app = app
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        abort = False
        try:
            _Handler(tls, client_address, self)
        except ConnectionAbortError:
            abort = True
        finally:
            if abort:
                _abortive_close(tls)
            else:
                _lingering_close(tls)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


def _abortive_close(tls: ssl.SSLSocket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN (injected connection reset)."""
    with contextlib.suppress(OSError):
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        tls.close()


def _lingering_close(tls: ssl.SSLSocket) -> None:
    """Send FIN, then drain what the client still sends before closing.

    Closing a socket with unread input makes the kernel send RST, which can destroy the response
    the client has not read yet (e.g. an error answer to a request whose body was not consumed).
    """
    with contextlib.suppress(OSError, ValueError):
        tls.shutdown(socket.SHUT_WR)
        tls.settimeout(LINGER_SECONDS)
        deadline = time.monotonic() + LINGER_SECONDS
        while time.monotonic() < deadline and tls.recv(65536):
            pass
    with contextlib.suppress(OSError):
        tls.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    server: TlsHttpServer

    def version_string(self) -> str:
        return "Kestrel"  # the real control plane answers with Server: Kestrel

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status are logged, never headers (Authorization stays private).
        log.debug("%s " + format, self.address_string(), *args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors from the stdlib parser, rendered as CommunicationErrorResponse."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.1"  # unparseable request line: still answer with a status line
        error = ApiError(code, "BadRequest" if code == 400 else str(code), message or "Malformed request.")
        self._write(error.to_response(), head_only=False)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    # -- internals -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        return read_body(self.rfile, self.headers, MAX_BODY_BYTES)

    def _build_request(self, body: bytes) -> Request:
        parts = urlsplit(self.path)
        # HMAC signs the path?query exactly as sent; absolute-form targets are reduced to that.
        if self.path.startswith("/"):
            target = self.path
        else:
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return Request(
            method=self.command,
            target=target,
            path=unquote(parts.path) or "/",
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            client_host=str(self.client_address[0]),
        )

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except BodyError as exc:
            self.close_connection = True
            self._write(ApiError(exc.status, "BadRequest", exc.message).to_response(), head_only=False)
            return
        except (OSError, ValueError):
            self.close_connection = True
            return
        request = self._build_request(body)
        try:
            response = self.server.app.handle(request)
        except ApiError as error:
            response = error.to_response()
        except Exception:
            log.exception("internal error handling %s %s", request.method, request.path)
            response = internal_error().to_response()
        try:
            self.server.app.finalize(request, response)
        except Exception:
            log.exception("finalizing %s %s failed", request.method, request.path)
        self._write(response, head_only=request.method == "HEAD")

    def _write(self, response: Response, *, head_only: bool) -> None:
        body = response.body
        length = len(body) if isinstance(body, bytes) else response.content_length
        if length is None:
            # An iterable body without a declared length cannot be framed on a keep-alive connection.
            log.error("response without content length; answering 500")
            response = internal_error().to_response()
            body = response.body
            length = len(body) if isinstance(body, bytes) else 0
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            if response.status not in (204, 304) and not 100 <= response.status < 200:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if head_only or response.status in (204, 304):
                return
            self._write_body(body, length)
        except (OSError, ssl.SSLError):
            self.close_connection = True

    def _write_body(self, body: bytes | Iterable[bytes | memoryview], length: int) -> None:
        if isinstance(body, bytes):
            self.wfile.write(body)
            return
        written = 0
        for chunk in body:
            if written + len(chunk) > length:
                chunk = chunk[: length - written]
            self.wfile.write(chunk)
            written += len(chunk)
            if written >= length:
                break
        if written < length:
            self.close_connection = True  # short body: the client must not reuse this connection


__all__ = ["JSON_CONTENT_TYPE", "Application", "TlsHttpServer"]
