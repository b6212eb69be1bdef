"""Framework-free request/response values and the service's error envelope.

Handlers are plain functions from :class:`Request` to :class:`Response`, which keeps them easy to
unit-test and lets later pieces (recording content, fault injection) add routes without touching
the socket code. Errors raise :class:`ApiError`, rendered as CommunicationErrorResponse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """A fully read HTTP request. ``target`` is the path?query exactly as sent (what HMAC signs)."""

    method: str
    target: str
    path: str  # percent-decoded path without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    client_host: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_value(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """Status, headers and a body that is bytes or an iterable of chunks (then give the length)."""

    status: int
    body: bytes | Iterable[bytes | memoryview] = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_length: int | None = None  # required when body is an iterable

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=[("Content-Type", JSON_CONTENT_TYPE), *headers])


class ApiError(Exception):
    """An error answer in the CommunicationErrorResponse shape ``{"error": {code, message, ...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = list(headers)

    def to_response(self) -> Response:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return json_response(self.status, {"error": error}, self.headers)


class ConnectionAbortError(Exception):
    """Raised by a response body iterator to drop the connection with a TCP reset (fault injection).

    The HTTP layer closes the socket abortively (SO_LINGER 0), so the client sees ECONNRESET
    mid-body, as with a crashed or overloaded front end.
    """


def internal_error() -> ApiError:
    """500 with the body the real service returned for an unknown internal error (errors.real.json)."""
    return ApiError(500, "9999", "Unknown internal server error.")


RouteAuth = Literal["hmac", "none", "admin"]
Handler = Callable[[Request, "re.Match[str]"], Response]


@dataclass(frozen=True)
class Route:
    """``auth``: "hmac" = signed API call, "none" = public (OpenID), "admin" = loopback peers only."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    auth: RouteAuth
    record: bool = True  # keep the request in AcsEmulator.requests


@dataclass(frozen=True)
class RecordedRequest:
    """A received request as tests see it; the Authorization signature is redacted."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: datetime

    @property
    def path(self) -> str:
        return self.target

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def to_dict(self) -> dict[str, Any]:
        try:
            text: str | None = self.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return {
            "method": self.method,
            "target": self.target,
            "headers": self.headers,
            "body": text,
            "bodyLength": len(self.body),
            "status": self.status,
            "at": self.at.isoformat(),
        }


_SIGNATURE = re.compile(r"(Signature=)[^&\s]+", re.IGNORECASE)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Copy of headers safe to keep or show: signatures and bearer tokens removed."""
    redacted = dict(headers)
    value = redacted.get("authorization")
    if value is not None:
        scheme = value.split(" ", 1)[0]
        redacted["authorization"] = (
            _SIGNATURE.sub(r"\1<redacted>", value)
            if scheme.upper() == "HMAC-SHA256"
            else f"{scheme} <redacted>"
        )
    return redacted
