"""Every exception the product raises on purpose, and the one mapping of failures to HTTP answers.

Why one place: every route must answer the same way for the same failure, a client mistake must
never surface as a 500, and nothing from a credential may reach a response body or a log line.

The tree, and where each kind ends:

    Exception
    +-- ApiError              an answer: status, stable code, message, field. Routes raise it; the
    |                         HTTP boundary (shared.http) renders it as is.
    +-- SettingsError         a setting missing or malformed (names the setting, never the value):
    |                         500 ConfigurationError; a timer or activity fails and is retried.
    +-- TransferError         a chunk could not be archived as verified bytes: its activity answers
    |   |                     "failed" and the orchestrator tries it again (passes, then rounds until
    |   |                     the archive's deadline; then it is Lost).
    |   +-- DownloadRefusedError  the recording host answered an error status (retried if 408,
    |                         429 or 5xx); never azure-core's error, whose str() can recurse.
    +-- ValueError
    |   +-- InvalidEventError an Event Grid event that cannot be archived: logged and dropped,
    |   |                     never retried (a forged or malformed event must not loop).
    |   +-- QueryError        a malformed listing parameter: 400 naming it.
    +-- azure.core.exceptions.AzureError (what the SDKs raise)
        +-- UntrustedHostError  a request or redirect hop off the allow-list: refused before any
        |                       byte is sent; fails the chunk like any other download error.
        +-- the SDKs' own      mapped where the call is made, inside `upstream(ACS)` or
                               `upstream(STORAGE)`, to an ApiError naming that service
                               (`from_azure_error`). One that escapes unmapped is a defect: the
                               boundary logs it as such and answers 502 without naming a service.

Anything else reaching the HTTP boundary is a bug: logged with its traceback, answered 500
InternalError with no exception text.

The catalog (Table storage) is an index, never the only record: ACS holds the live state and the
manifest the archive's. So a catalog outage fails an answer only when the catalog *is* the answer
(listings, archive lookups, links, state callbacks, which ACS then retries); it degrades the answer
when the catalog only adds to it (a recording's status answers `catalog: null`); and after ACS
already acted (a started recording) it is logged, not raised, since a retry would act twice.
Those two exceptions live in shared.recording.catalog_table, beside the reads and writes.
"""

from __future__ import annotations

import json
import re
import traceback
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


def not_found(message: str, target: str | None = None, *, code: str) -> ApiError:
    """A 404 with the code that says what is missing (README, HTTP API: the error table): RecordingNotFound,
    CallNotFound, ArchiveNotFound, ChunkNotFound."""
    return ApiError(HTTPStatus.NOT_FOUND, code, message, target)


class SettingsError(Exception):
    """A setting is missing or malformed; `setting` names it, the value is never included."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"setting {setting} {problem}")
        self.setting = setting
        self.problem = problem


class TransferError(Exception):
    """The chunk could not be archived as verified bytes; the activity fails and is retried."""


class DownloadRefusedError(TransferError):
    """The recording host answered a download with an error status.

    Raised in place of azure-core's HttpResponseError, whose `__str__` reads the body: over an
    unread streamed body, formatting it inside its own except block (as every host does with a
    failed function) recursed to the interpreter's limit, and once crashed it ("Cannot recover
    from stack overflow"). This one carries only what the retry needs.
    """

    def __init__(self, status_code: int, retry_after: str | None) -> None:
        super().__init__(f"the recording host answered {status_code}")
        self.status_code = status_code
        self.retry_after = retry_after


class InvalidEventError(ValueError):
    """The event cannot be archived; it is logged and dropped, never retried."""


class QueryError(ValueError):
    """A query parameter is malformed; `target` names it."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target


class UntrustedHostError(AzureError):
    """A request (usually a redirect hop) to a host that is neither ACS nor a recording host."""


ACS: Final = "Azure Communication Services"
STORAGE: Final = "Azure Storage"
UNNAMED: Final = "An Azure service"  # for an SDK error that escaped its `upstream(...)` block


def api_error_for(error: BaseException) -> ApiError:
    """What the HTTP boundary answers for any exception: the tree in this module's docstring."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, SettingsError):
        return ApiError(
            HTTPStatus.INTERNAL_SERVER_ERROR, "ConfigurationError", f"The service is misconfigured: {error}."
        )
    if isinstance(error, QueryError):
        return bad_request(str(error), error.target)
    if isinstance(error, AzureError):
        return from_azure_error(error, service=UNNAMED)
    return ApiError(HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError", "An unexpected error occurred.")


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


def release_frames(error: BaseException) -> None:
    """Clear the locals of the frames an SDK error's traceback holds. The SDK keeps the error in a
    local of its own frames (a reference cycle), and those frames reach ours, so a chunk's buffers
    lived on until the garbage collector ran: 1 GiB as 4 chunks peaked at two chunks' buffers
    (97 MiB, not 49; benchmarks/README.md). Cleared, they are freed when the chunk ends."""
    traceback.clear_frames(error.__traceback__)


_URL: Final = re.compile(r"(https?://[^\s/?#'\"]+)[^\s'\"]*")
_PATH: Final = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.-]+){2,}\.py\w*")
MAX_SHORT_ERROR: Final = 200


def short_error(text: str) -> str:
    """One short line an API client may see: the first line only (a traceback never follows), every
    URL cut to its host (a query may hold a SAS, a path a document id), file paths removed."""
    first = text.strip().split("\n", 1)[0].strip()
    cleaned = _PATH.sub("<path>", _URL.sub(r"\1/...", first))
    return cleaned[:MAX_SHORT_ERROR] or "unknown error"
