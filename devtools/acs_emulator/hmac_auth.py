"""HMAC-SHA256 request authentication as Azure Communication Services performs it.

Pure functions with no server state, so the exact algorithm can be unit-tested against the
captured test vectors (``hmac-test-vectors.json``) and reused by other local tools that need to
sign or verify requests the way the SDK's ``HMACCredentialsPolicy`` does.

Scheme (as produced by azure-communication-callautomation 1.6.0)::

    Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=<b64>
    string to sign: METHOD "\\n" <path?query as sent> "\\n" <x-ms-date> ";" <host> ";" <x-ms-content-sha256>
    signature: base64(HMAC-SHA256(base64decode(access key), utf-8(string to sign)))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

SCHEME = "HMAC-SHA256"
SIGNED_HEADERS = "x-ms-date;host;x-ms-content-sha256"

# ASSUMPTION: the real service's tolerance for clock skew in x-ms-date is not documented in the
# reference material; 15 minutes is the window commonly used by Azure shared-key schemes.
MAX_CLOCK_SKEW = timedelta(minutes=15)


class HmacAuthError(Exception):
    """Raised when a request does not carry a valid HMAC signature; ``reason`` is for logs/tests."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedAuthorization:
    """The two parameters of an ``HMAC-SHA256`` Authorization header."""

    signed_headers: tuple[str, ...]
    signature: str


def decode_access_key(access_key: str | bytes) -> bytes:
    """Decode a base64 access key (as found in a connection string) to the raw HMAC secret."""
    if isinstance(access_key, bytes):
        access_key = access_key.decode("ascii")
    try:
        return base64.b64decode(access_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("access key must be base64") from exc


def content_sha256(body: bytes) -> str:
    """Base64 SHA-256 of the body, the value of ``x-ms-content-sha256``."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def string_to_sign(method: str, path_and_query: str, signed_values: list[str]) -> str:
    """Build the canonical string: method, path?query as sent, then the signed header values."""
    return f"{method.upper()}\n{path_and_query}\n{';'.join(signed_values)}"


def compute_signature(secret: bytes, text: str) -> str:
    """Base64 HMAC-SHA256 of ``text`` under the raw secret."""
    return base64.b64encode(hmac.new(secret, text.encode("utf-8"), hashlib.sha256).digest()).decode("ascii")


def http_date(moment: datetime) -> str:
    """Format a time the way the SDK writes ``x-ms-date`` (RFC 1123, GMT)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def sign_headers(
    *,
    method: str,
    path_and_query: str,
    host: str,
    body: bytes,
    access_key: str | bytes,
    now: datetime | None = None,
) -> dict[str, str]:
    """Headers a client must add to be accepted; mirrors the SDK policy (useful for tests/tools)."""
    date = http_date(now or datetime.now(UTC))
    digest = content_sha256(body)
    text = string_to_sign(method, path_and_query, [date, host, digest])
    signature = compute_signature(decode_access_key(access_key), text)
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": digest,
        "Authorization": f"{SCHEME} SignedHeaders={SIGNED_HEADERS}&Signature={signature}",
    }


def parse_authorization(value: str) -> ParsedAuthorization:
    """Parse ``HMAC-SHA256 SignedHeaders=a;b;c&Signature=xyz``; raise HmacAuthError otherwise."""
    scheme, _, params = value.strip().partition(" ")
    if scheme.upper() != SCHEME:
        raise HmacAuthError(f"unsupported authorization scheme {scheme!r}")
    found: dict[str, str] = {}
    for part in params.strip().split("&"):
        name, sep, param_value = part.partition("=")  # Signature values contain '=' padding
        if not sep or not name or name in found:
            raise HmacAuthError("malformed HMAC authorization parameters")
        found[name] = param_value
    if set(found) != {"SignedHeaders", "Signature"}:
        raise HmacAuthError("HMAC authorization needs exactly SignedHeaders and Signature")
    names = tuple(n.strip().lower() for n in found["SignedHeaders"].split(";"))
    if not found["Signature"] or any(not n for n in names):
        raise HmacAuthError("empty SignedHeaders entry or Signature")
    return ParsedAuthorization(signed_headers=names, signature=found["Signature"])


def verify_request(
    *,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: bytes,
    host: str | None = None,
    now: datetime | None = None,
    max_skew: timedelta = MAX_CLOCK_SKEW,
) -> None:
    """Verify an HMAC-signed request or raise :class:`HmacAuthError`.

    ``headers`` must be keyed by lower-case names. ``host`` is the value signed as ``host``; it
    defaults to the request's Host header (control plane). Content downloads sign the resource
    host and carry it in ``x-ms-host``; callers pass that value explicitly.
    """
    raw = headers.get("authorization")
    if raw is None:
        raise HmacAuthError("missing Authorization header")
    parsed = parse_authorization(raw)
    # The SDK always signs exactly these three; other orders/sets are rejected rather than guessed.
    if parsed.signed_headers != tuple(SIGNED_HEADERS.split(";")):
        raise HmacAuthError(f"unsupported SignedHeaders {';'.join(parsed.signed_headers)!r}")

    date_value = headers.get("x-ms-date")
    if not date_value:
        raise HmacAuthError("missing x-ms-date header")
    try:
        sent_at = parsedate_to_datetime(date_value)
    except (TypeError, ValueError) as exc:
        raise HmacAuthError("x-ms-date is not an HTTP date") from exc
    if sent_at.tzinfo is None:
        raise HmacAuthError("x-ms-date has no time zone")
    current = now or datetime.now(UTC)
    if abs(current - sent_at) > max_skew:
        raise HmacAuthError("x-ms-date is outside the allowed clock skew")

    signed_host = host if host is not None else headers.get("host")
    if not signed_host:
        raise HmacAuthError("missing Host header")

    claimed_hash = headers.get("x-ms-content-sha256")
    if claimed_hash is None:
        raise HmacAuthError("missing x-ms-content-sha256 header")
    if not hmac.compare_digest(claimed_hash.encode("utf-8"), content_sha256(body).encode("ascii")):
        raise HmacAuthError("x-ms-content-sha256 does not match the body")

    expected = compute_signature(
        secret, string_to_sign(method, path_and_query, [date_value, signed_host, claimed_hash])
    )
    if not hmac.compare_digest(parsed.signature.encode("utf-8"), expected.encode("ascii")):
        raise HmacAuthError("signature mismatch")
