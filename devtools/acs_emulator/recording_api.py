"""The Call Recording REST operations of the stable 2026-03-12 spec, on top of the state store.

Status codes and bodies follow the spec and the captured traffic: start 200 (inactive), get 200,
pause/resume 202 with an empty body, stop 204, unknown or stopped recording 404 code 8522.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from . import hmac_auth
from .entra import EntraIssuer, InvalidTokenError
from .http_types import ApiError, Request, Response, json_response
from .schema import RequestValidationError, StartRecordingOptions, ValidationIssue, validate_start_request
from .state import (
    CallNotFoundError,
    EmulatorState,
    RecordingConflictError,
    RecordingNotFoundError,
    RecordingSnapshot,
)

API_VERSION = "2026-03-12"
# Exactly the api-supported-versions header of the captured 2026-03-12 start response.
SUPPORTED_API_VERSIONS = (
    "2023-03-06, 2023-10-15, 2024-04-15, 2024-06-15-preview, 2024-09-01-preview, 2024-09-15, "
    "2024-11-15-preview, 2025-03-30-preview, 2025-05-15, 2025-06-15, 2025-08-15-preview, 2026-03-12"
)
ACCEPTED_API_VERSIONS = frozenset(v.strip() for v in SUPPORTED_API_VERSIONS.split(","))

RECORDINGS_PATH = re.compile(r"^/calling/recordings$")
RECORDING_PATH = re.compile(r"^/calling/recordings/(?P<id>[^/:]+)$")
RECORDING_ACTION_PATH = re.compile(r"^/calling/recordings/(?P<id>[^/:]+):(?P<action>pause|resume)$")


def denied() -> ApiError:
    # BELIEVED to be what the ACS data plane returns for failed HMAC/unsupported auth; the body is
    # not in the captured payloads (tests/fixtures/reference).
    return ApiError(401, "Denied", "Denied by the resource provider.")


def recording_not_found(recording_id: str) -> ApiError:
    """The captured 404 (errors.real.json); target is the recording's path."""
    return ApiError(404, "8522", "Recording not found.", target=f"/calling/recordings/{recording_id}")


def _validation_error(issues: list[ValidationIssue]) -> ApiError:
    # UNVERIFIED: the real validation error code/message texts; the envelope is the spec's.
    first = issues[0]
    message = f"Invalid request: {first.target} {first.message}."
    if len(issues) > 1:
        message += f" ({len(issues) - 1} more problem(s) in details)"
    details = [
        {"code": "InvalidValue", "message": f"{i.target} {i.message}", "target": i.target} for i in issues
    ]
    return ApiError(400, "BadRequest", message, details=details)


def checked_api_version(request: Request, accepted: frozenset[str]) -> str:
    """The request's one api-version, if the operation takes it; else the 400 every route answers."""
    # UNVERIFIED codes/messages: modelled on ASP.NET API versioning, which a Kestrel service
    # plausibly uses; the real service's exact answer is not captured.
    values = request.query.get("api-version")
    if not values:
        raise ApiError(400, "ApiVersionUnspecified", "An API version is required, but was not specified.")
    version = values[0]
    if len(values) > 1 or version not in accepted:
        raise ApiError(
            400,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI '{request.path}' does not support "
            f"the API version '{version}'.",
        )
    return version


def state_body(snapshot: RecordingSnapshot, state: str | None = None) -> dict[str, Any]:
    """RecordingStateResponse."""
    return {
        "recordingId": snapshot.recording_id,
        "recordingState": state or snapshot.rest_state,
        "recordingKind": "azureCommunicationServices",
    }


class RecordingApi:
    """Handlers for /calling/recordings*; authentication and api-version checks included."""

    def __init__(self, state: EmulatorState, secret: bytes, entra: EntraIssuer | None = None) -> None:
        self._state = state
        self._secret = secret
        self._entra = entra

    # -- checks shared by every operation ----------------------------------------------------------
    def authenticate(self, request: Request, *, signing_host: str | None = None) -> None:
        """HMAC verification, or a Microsoft Entra bearer token from the emulator's issuer."""
        scheme, _, credential = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer":
            if self._entra is None:
                raise denied()
            try:
                self._entra.verify(credential.strip())
            except InvalidTokenError as exc:
                raise denied() from exc
            return
        try:
            hmac_auth.verify_request(
                method=request.method,
                path_and_query=request.target,
                headers=request.headers,
                body=request.body,
                secret=self._secret,
                host=signing_host,
            )
        except hmac_auth.HmacAuthError as exc:
            raise denied() from exc

    @staticmethod
    def api_version(request: Request) -> str:
        return checked_api_version(request, ACCEPTED_API_VERSIONS)

    # -- operations -----------------------------------------------------------------------------
    def start(self, request: Request, match: re.Match[str]) -> Response:
        version = self.api_version(request)
        repeatability_id = self._repeatability_id(request)
        options = self._parse_start(request)
        try:
            snapshot, _replayed = self._state.start_recording(
                options, api_version=version, repeatability_id=repeatability_id
            )
        except RequestValidationError as exc:
            raise _validation_error(exc.issues) from exc
        except CallNotFoundError as exc:
            # UNVERIFIED status/code: the real answer for an unknown or ended call is not captured.
            raise ApiError(404, "CallNotFound", "The call was not found or has ended.") from exc
        except RecordingConflictError as exc:
            # UNVERIFIED: believed the service refuses a second recording of the same call.
            raise ApiError(
                409, "RecordingAlreadyInProgress", "A recording is already in progress for this call."
            ) from exc
        headers = [("X-Microsoft-Skype-Chain-ID", snapshot.correlation_id)]
        if repeatability_id is not None:
            headers.append(("Repeatability-Result", "accepted"))
        # The start response always reports the state at start time ("inactive"), also on replay.
        return json_response(200, state_body(snapshot, "inactive"), headers)

    def get(self, request: Request, match: re.Match[str]) -> Response:
        self.api_version(request)
        recording_id = match["id"]
        try:
            snapshot = self._state.get_recording(recording_id)
        except RecordingNotFoundError as exc:
            raise recording_not_found(recording_id) from exc
        return json_response(200, state_body(snapshot))

    def stop(self, request: Request, match: re.Match[str]) -> Response:
        self.api_version(request)
        recording_id = match["id"]
        try:
            self._state.stop_recording(recording_id)
        except RecordingNotFoundError as exc:
            raise recording_not_found(recording_id) from exc
        return Response(204)

    def action(self, request: Request, match: re.Match[str]) -> Response:
        self.api_version(request)
        recording_id = match["id"]
        try:
            if match["action"] == "pause":
                self._state.pause_recording(recording_id)
            else:
                self._state.resume_recording(recording_id)
        except RecordingNotFoundError as exc:
            raise recording_not_found(recording_id) from exc
        return Response(202)

    # -- helpers --------------------------------------------------------------------------------
    @staticmethod
    def _repeatability_id(request: Request) -> str | None:
        """Checks the pair of repeatability headers as the spec describes them (UNVERIFIED codes)."""
        request_id = request.header("Repeatability-Request-ID")
        first_sent = request.header("Repeatability-First-Sent")
        if request_id is None:
            return None
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise ApiError(400, "BadRequest", "Repeatability-Request-ID must be a UUID.") from None
        if first_sent is None:
            raise ApiError(
                400, "BadRequest", "Repeatability-First-Sent is required with Repeatability-Request-ID."
            )
        try:
            sent = parsedate_to_datetime(first_sent)
        except (TypeError, ValueError):
            sent = None
        if sent is None or sent.tzinfo is None:
            raise ApiError(400, "BadRequest", "Repeatability-First-Sent must be an IMF-fixdate HTTP date.")
        if sent > datetime.now(UTC) + hmac_auth.MAX_CLOCK_SKEW:
            raise ApiError(400, "BadRequest", "Repeatability-First-Sent is in the future.")
        return request_id.lower()

    @staticmethod
    def _parse_start(request: Request) -> StartRecordingOptions:
        content_type = (request.header("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type != "application/json":
            # UNVERIFIED: ASP.NET answers 415 for a non-JSON body.
            raise ApiError(415, "UnsupportedMediaType", "The request body must be application/json.")
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "BadRequest", f"The request body is not valid JSON: {exc}") from exc
        try:
            return validate_start_request(body)
        except RequestValidationError as exc:
            raise _validation_error(exc.issues) from exc
