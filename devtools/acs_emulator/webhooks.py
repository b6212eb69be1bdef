"""The one way the emulator calls out: an HTTP(S) request to a webhook on loopback, never elsewhere.

Both of its outgoing streams use it: ACS's recording state callbacks (callbacks.py) and Event
Grid's deliveries (events.py). SAFETY: IP literals must be in 127.0.0.0/8 or ::1; the only name
accepted is ``localhost`` (resolved through the local resolver and checked). Any other host is
answered as skipped WITHOUT being resolved, so no DNS query or packet leaves the machine. The
connection is made to the checked address (no second lookup) and redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class WebhookAnswer:
    """What came back; `skipped` says why nothing was sent, `error` why the request failed."""

    status: int | None
    error: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def loopback_address(host: str, port: int) -> str | None:
    """The loopback address to connect to for ``host``, or None if it is not provably loopback."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        return str(literal) if literal.is_loopback else None
    if host.lower().rstrip(".") != "localhost":
        return None  # never resolve other names: a DNS query would already use the network
    try:
        infos = socket.getaddrinfo("localhost", port, type=socket.SOCK_STREAM)
    except OSError:
        return None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        return None
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a pre-checked address while keeping the URL's host for the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS variant of :class:`_PinnedHTTPConnection`; the certificate is checked for ``host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def send(
    method: str, url: str, headers: dict[str, str], body: bytes, *, timeout: float, tls: ssl.SSLContext
) -> WebhookAnswer:
    """One request to a loopback webhook (no retries: the callers retry as their service does)."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return WebhookAnswer(None, skipped="invalid webhook URL")
    if scheme not in ("http", "https"):
        return WebhookAnswer(None, skipped=f"unsupported scheme {scheme!r}")
    address = loopback_address(host, port)
    if address is None:
        return WebhookAnswer(None, skipped=f"host {host!r} is not loopback; nothing was sent")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = _PinnedHTTPSConnection(host, port, address, timeout, tls)
    else:
        conn = _PinnedHTTPConnection(host, port, address, timeout)
    try:
        conn.request(method, target, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        error = None if response.status < 300 else f"HTTP {response.status}"
        return WebhookAnswer(response.status, error, payload, answer_headers)
    except (OSError, http.client.HTTPException) as exc:
        return WebhookAnswer(None, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
