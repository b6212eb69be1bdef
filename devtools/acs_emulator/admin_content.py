"""Admin routes for the content plane: recording files, timelines, webhooks, deliveries, faults.

Same rules as :mod:`.admin_api` (loopback peers only, ``X-Acs-Emulator-Admin: 1``). JSON keys are
camelCase mirrors of the Python API arguments::

    GET    /admin/recordings/{id}/files[?sha256=true]   chunks, lengths (and hashes)
    PUT    /admin/recordings/{id}/timeline              {"durationS": 30, "pauses": [[10, 5]]}
    POST   /admin/recordings/{id}/stop                  same body (optional): stop with that timeline
    GET|POST|DELETE /admin/event-webhooks               {"url", "schema", "validate", "name", "eventTypes"};
                                                        DELETE ?url=
    GET    /admin/event-webhooks/validate?code=...      the validationUrl of validation events
    GET|DELETE /admin/event-deliveries                  POST /admin/event-deliveries/flush sends held events
    GET|POST|DELETE /admin/faults                       {"kind", "path", "count", "method", "status",
                                                         "retryAfter", "afterBytes", "seconds",
                                                         "bytesPerSecond", "probability", "seed",
                                                         "eventType"}
    GET|PATCH /admin/settings                           {"maxChunkBytes", "fileStatusDelay",
                                                         "callDurationField"}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol

from .admin_api import ADMIN_HEADER
from .events import (
    DURATION_FIELDS,
    DurationField,
    EventDelivery,
    EventSchema,
    Webhook,
    WebhookValidationError,
)
from .faults import FaultRule
from .http_types import ApiError, Request, Response, json_response
from .recording_files import RecordingFiles, TimelineOverride
from .state import RecordingNotFoundError


class ContentPlane(Protocol):
    """What these routes drive: the emulator's content plane (`AcsEmulator` is one). A Protocol, so
    this module never imports the server that imports it."""

    max_chunk_bytes: int
    file_status_delay: float
    call_duration_field: DurationField

    @property
    def event_webhooks(self) -> list[Webhook]: ...
    @property
    def event_deliveries(self) -> list[EventDelivery]: ...
    @property
    def faults(self) -> list[FaultRule]: ...
    @property
    def add_fault(self) -> Callable[..., FaultRule]: ...  # keyword arguments straight from the request

    def recording_files(self, recording_id: str) -> RecordingFiles: ...
    def set_recording_timeline(
        self, recording_id: str, duration_s: float, pauses: Sequence[Sequence[float]] = ()
    ) -> None: ...
    def stop_recording(
        self, recording_id: str, *, duration_s: float | None = None, pauses: Sequence[Sequence[float]] = ()
    ) -> RecordingFiles: ...
    def add_event_webhook(
        self,
        url: str,
        *,
        schema: EventSchema = "EventGridSchema",
        validate: bool = False,
        name: str | None = None,
        event_types: Collection[str] | None = None,
    ) -> Webhook: ...
    def remove_event_webhook(self, url: str) -> bool: ...
    def clear_event_webhooks(self) -> None: ...
    def clear_event_deliveries(self) -> None: ...
    def flush_held_events(self) -> None: ...
    def clear_faults(self) -> None: ...


FILES_PATH = re.compile(r"^/admin/recordings/(?P<id>[^/]+)/files$")
TIMELINE_PATH = re.compile(r"^/admin/recordings/(?P<id>[^/]+)/timeline$")
STOP_PATH = re.compile(r"^/admin/recordings/(?P<id>[^/]+)/stop$")
WEBHOOKS_PATH = re.compile(r"^/admin/event-webhooks$")
VALIDATE_PATH = re.compile(r"^/admin/event-webhooks/validate$")
DELIVERIES_PATH = re.compile(r"^/admin/event-deliveries$")
FLUSH_PATH = re.compile(r"^/admin/event-deliveries/flush$")
FAULTS_PATH = re.compile(r"^/admin/faults$")
SETTINGS_PATH = re.compile(r"^/admin/settings$")

_FAULT_KEYS = {
    "kind": "kind",
    "path": "path",
    "count": "count",
    "method": "method",
    "status": "status",
    "retryAfter": "retry_after",
    "afterBytes": "after_bytes",
    "seconds": "seconds",
    "bytesPerSecond": "bytes_per_second",
    "probability": "probability",
    "seed": "seed",
    "eventType": "event_type",
}


def _admin(status: int, payload: Any) -> Response:
    return json_response(status, payload, [ADMIN_HEADER])


def _bad(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message, headers=[ADMIN_HEADER])


def _body(request: Request, allowed: set[str]) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("Body must be JSON.") from exc
    if not isinstance(body, dict) or set(body) - allowed:
        raise _bad(f"Body must be an object with keys from {sorted(allowed)}.")
    return body


def _timeline(body: dict[str, Any]) -> TimelineOverride | None:
    if "durationS" not in body:
        if body.get("pauses"):
            raise _bad("pauses need durationS")
        return None
    try:
        return TimelineOverride.of(float(body["durationS"]), body.get("pauses") or [])
    except (TypeError, ValueError, IndexError) as exc:
        raise _bad(f"invalid timeline: {exc}") from exc


class ContentAdminApi:
    def __init__(self, emulator: ContentPlane) -> None:
        self._emu = emulator

    def files(self, request: Request, match: re.Match[str]) -> Response:
        try:
            files = self._emu.recording_files(match["id"])
        except KeyError as exc:
            raise ApiError(404, "NotFound", "No files for this recording.", headers=[ADMIN_HEADER]) from exc
        with_hash = (request.query_value("sha256") or "").lower() in ("1", "true")
        return _admin(200, files.to_dict(with_hash=with_hash))

    def set_timeline(self, request: Request, match: re.Match[str]) -> Response:
        override = _timeline(_body(request, {"durationS", "pauses"}))
        if override is None:
            raise _bad("durationS is required")
        try:
            self._emu.set_recording_timeline(match["id"], override.duration_s, override.pauses)
        except RecordingNotFoundError as exc:
            raise ApiError(404, "NotFound", "No such live recording.", headers=[ADMIN_HEADER]) from exc
        return Response(204, headers=[ADMIN_HEADER])

    def stop(self, request: Request, match: re.Match[str]) -> Response:
        override = _timeline(_body(request, {"durationS", "pauses"}))
        try:
            files = self._emu.stop_recording(
                match["id"],
                duration_s=override.duration_s if override else None,
                pauses=override.pauses if override else (),
            )
        except RecordingNotFoundError as exc:
            raise ApiError(404, "NotFound", "No such live recording.", headers=[ADMIN_HEADER]) from exc
        return _admin(200, files.to_dict())

    def list_webhooks(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [w.to_dict() for w in self._emu.event_webhooks])

    def add_webhook(self, request: Request, match: re.Match[str]) -> Response:
        body = _body(request, {"url", "schema", "validate", "name", "eventTypes"})
        if not isinstance(body.get("url"), str):
            raise _bad("url is required")
        types = body.get("eventTypes")
        if types is not None and (not isinstance(types, list) or not all(isinstance(t, str) for t in types)):
            raise _bad("eventTypes must be a list of event types")
        try:
            webhook = self._emu.add_event_webhook(
                body["url"],
                schema=body.get("schema", "EventGridSchema"),
                validate=bool(body.get("validate", False)),
                name=body.get("name"),
                event_types=types,
            )
        except (ValueError, WebhookValidationError) as exc:
            raise _bad(str(exc)) from exc
        return _admin(201, webhook.to_dict())

    def remove_webhooks(self, request: Request, match: re.Match[str]) -> Response:
        url = request.query_value("url")
        if url is None:
            self._emu.clear_event_webhooks()
        elif not self._emu.remove_event_webhook(url):
            raise ApiError(404, "NotFound", "No such webhook.", headers=[ADMIN_HEADER])
        return Response(204, headers=[ADMIN_HEADER])

    def validation_url(self, request: Request, match: re.Match[str]) -> Response:
        # Manual validation (the subscriber GETs validationUrl) is accepted but changes nothing:
        # add_event_webhook(validate=True) only succeeds on the synchronous handshake.
        return _admin(200, {"code": request.query_value("code")})

    def list_deliveries(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [d.to_dict() for d in self._emu.event_deliveries])

    def clear_deliveries(self, request: Request, match: re.Match[str]) -> Response:
        self._emu.clear_event_deliveries()
        return Response(204, headers=[ADMIN_HEADER])

    def flush_held(self, request: Request, match: re.Match[str]) -> Response:
        self._emu.flush_held_events()
        return Response(204, headers=[ADMIN_HEADER])

    def list_faults(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [f.to_dict() for f in self._emu.faults])

    def add_fault(self, request: Request, match: re.Match[str]) -> Response:
        body = _body(request, set(_FAULT_KEYS))
        if "kind" not in body:
            raise _bad("kind is required")
        kwargs = {_FAULT_KEYS[k]: v for k, v in body.items() if k != "kind"}
        try:
            rule = self._emu.add_fault(body["kind"], **kwargs)
        except (TypeError, ValueError, re.error) as exc:
            raise _bad(str(exc)) from exc
        return _admin(201, rule.to_dict())

    def clear_faults(self, request: Request, match: re.Match[str]) -> Response:
        self._emu.clear_faults()
        return Response(204, headers=[ADMIN_HEADER])

    def get_settings(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(
            200,
            {
                "maxChunkBytes": self._emu.max_chunk_bytes,
                "fileStatusDelay": self._emu.file_status_delay,
                "callDurationField": self._emu.call_duration_field,
            },
        )

    def patch_settings(self, request: Request, match: re.Match[str]) -> Response:
        body = _body(request, {"maxChunkBytes", "fileStatusDelay", "callDurationField"})
        try:
            if "maxChunkBytes" in body:
                self._emu.max_chunk_bytes = int(body["maxChunkBytes"])
            if "fileStatusDelay" in body:
                delay = float(body["fileStatusDelay"])
                if delay < 0:
                    raise ValueError("fileStatusDelay must be >= 0")
                self._emu.file_status_delay = delay
            if "callDurationField" in body:
                field = body["callDurationField"]
                if field not in DURATION_FIELDS:
                    raise ValueError(f"callDurationField must be one of {', '.join(DURATION_FIELDS)}")
                self._emu.call_duration_field = field
        except (TypeError, ValueError) as exc:
            raise _bad(str(exc)) from exc
        return self.get_settings(request, match)

    def routes(self) -> list[tuple[str, re.Pattern[str], Any]]:
        return [
            ("GET", FILES_PATH, self.files),
            ("PUT", TIMELINE_PATH, self.set_timeline),
            ("POST", STOP_PATH, self.stop),
            ("GET", WEBHOOKS_PATH, self.list_webhooks),
            ("POST", WEBHOOKS_PATH, self.add_webhook),
            ("DELETE", WEBHOOKS_PATH, self.remove_webhooks),
            ("GET", VALIDATE_PATH, self.validation_url),
            ("GET", DELIVERIES_PATH, self.list_deliveries),
            ("DELETE", DELIVERIES_PATH, self.clear_deliveries),
            ("POST", FLUSH_PATH, self.flush_held),
            ("GET", FAULTS_PATH, self.list_faults),
            ("POST", FAULTS_PATH, self.add_fault),
            ("DELETE", FAULTS_PATH, self.clear_faults),
            ("GET", SETTINGS_PATH, self.get_settings),
            ("PATCH", SETTINGS_PATH, self.patch_settings),
        ]
