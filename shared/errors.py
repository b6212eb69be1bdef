"""Error types of the HTTP API and the one mapping from azure-core / ACS errors to them.

Why one place: every route must answer the same way for the same failure, a client mistake must
never surface as a 500, and nothing from a credential may reach a response body or a log line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Final

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

DEFAULT_RETRY_AFTER_SECONDS = 5
_MAX_MESSAGE = 500


@dataclass
class ApiError(Exception):
    """An error our API returns: HTTP status, stable code, human message, offending field."""

    status: int
    code: str
    message: str
    target: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, dict[str, str]]:
        error = {"code": self.code, "message": self.message}
        if self.target is not None:
            error["target"] = self.target
        return {"error": error}


def bad_request(message: str, target: str | None = None, *, code: str = "InvalidRequest") -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, code, message, target)


def not_found(message: str, target: str | None = None) -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "NotFound", message, target)


ACS: Final = "Azure Communication Services"
STORAGE: Final = "Azure Storage"


@contextmanager
def upstream(service: str) -> Iterator[None]:
    """Inside this block, SDK errors become ApiErrors that name `service`."""
    try:
        yield
    except AzureError as error:
        raise from_azure_error(error, service=service) from error


def from_azure_error(error: AzureError, *, service: str = ACS) -> ApiError:
    """Translate what an SDK raised into what our callers should see."""
    if isinstance(error, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return ApiError(HTTPStatus.GATEWAY_TIMEOUT, "UpstreamTimeout", f"{service} did not answer in time.")
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return ApiError(HTTPStatus.BAD_GATEWAY, "UpstreamUnavailable", f"{service} could not be reached.")
    status = getattr(error, "status_code", None)
    if isinstance(error, ClientAuthenticationError) or status in (401, 403):
        return ApiError(
            HTTPStatus.BAD_GATEWAY,
            "UpstreamAuthenticationFailed",
            f"{service} refused this service's own credentials; check its connection "
            "setting or the managed identity's role assignment.",
        )
    if not isinstance(error, HttpResponseError) or status is None:
        return ApiError(HTTPStatus.BAD_GATEWAY, "UpstreamError", f"{service} request failed.")
    upstream_code, upstream_message = _upstream_error(error)
    if status == 404 and service == ACS:
        return ApiError(HTTPStatus.NOT_FOUND, "RecordingNotFound", upstream_message or "Recording not found.")
    if service != ACS and status not in (429,):
        return ApiError(HTTPStatus.BAD_GATEWAY, "UpstreamError", f"{service} answered {status}.")
    if status == 400:
        return ApiError(
            HTTPStatus.BAD_REQUEST,
            "RejectedByService",
            upstream_message or f"{service} rejected the request.",
        )
    if status == 409:
        return ApiError(
            HTTPStatus.CONFLICT, "Conflict", upstream_message or "The recording is in a conflicting state."
        )
    if status == 429:
        return ApiError(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "UpstreamThrottled",
            f"{service} is throttling requests; retry later.",
            headers={"Retry-After": str(_retry_after(error))},
        )
    detail = f" (code {upstream_code})" if upstream_code else ""
    return ApiError(HTTPStatus.BAD_GATEWAY, "UpstreamError", f"{service} answered {status}{detail}.")


def _upstream_error(error: HttpResponseError) -> tuple[str | None, str | None]:
    """Code and message from the CommunicationErrorResponse body, if there is one."""
    response = error.response
    if response is None:
        return None, None
    try:
        payload = json.loads(response.text())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None, None
    inner = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        return None, None
    code = inner.get("code")
    message = inner.get("message")
    return (
        str(code)[:64] if code is not None else None,
        str(message)[:_MAX_MESSAGE] if message else None,
    )


def _retry_after(error: HttpResponseError) -> int:
    headers = getattr(error.response, "headers", None) or {}
    raw = headers.get("Retry-After")
    try:
        seconds = int(str(raw))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, 1), 3600)
