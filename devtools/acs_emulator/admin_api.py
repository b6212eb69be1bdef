"""Test-control API under ``/admin/`` (no HMAC, loopback peers only).

It lets processes other than the one hosting the emulator (the Functions dev host, scripts) create
and end calls and inspect recordings and requests. The prefix cannot collide with the real API,
which lives under ``/calling/``; responses carry ``X-Acs-Emulator-Admin: 1`` to make that obvious.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

from .callbacks import CallbackDispatcher
from .http_types import ApiError, RecordedRequest, Request, Response, json_response
from .state import CallNotFoundError, EmulatorState, RecordingNotFoundError

ADMIN_HEADER = ("X-Acs-Emulator-Admin", "1")

CALLS_PATH = re.compile(r"^/admin/calls$")
CALL_PATH = re.compile(r"^/admin/calls/(?P<id>.+)$")
RECORDINGS_PATH = re.compile(r"^/admin/recordings$")
RECORDING_PATH = re.compile(r"^/admin/recordings/(?P<id>[^/]+)$")
REQUESTS_PATH = re.compile(r"^/admin/requests$")
CALLBACKS_PATH = re.compile(r"^/admin/callback-deliveries$")


def require_loopback_peer(request: Request) -> None:
    try:
        loopback = ipaddress.ip_address(request.client_host.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ApiError(
            403, "Forbidden", "The emulator admin API only accepts loopback clients.", headers=[ADMIN_HEADER]
        )


def _admin(status: int, payload: Any) -> Response:
    return json_response(status, payload, [ADMIN_HEADER])


class AdminApi:
    """Handlers; ``requests`` is a callable so the emulator keeps ownership of its request log."""

    def __init__(
        self,
        state: EmulatorState,
        dispatcher: CallbackDispatcher,
        requests: Callable[[], list[RecordedRequest]],
        clear_requests: Callable[[], None],
    ) -> None:
        self._state = state
        self._dispatcher = dispatcher
        self._requests = requests
        self._clear_requests = clear_requests

    def create_call(self, request: Request, match: re.Match[str]) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "BadRequest", "Body must be JSON.", headers=[ADMIN_HEADER]) from exc
        allowed = {
            "participants",
            "serverCallId",
            "groupCallId",
            "callConnectionId",
            "kind",
            "roomId",
            "startedBy",
        }
        if not isinstance(body, dict) or set(body) - allowed:
            raise ApiError(
                400,
                "BadRequest",
                f"Body must be an object with keys from {sorted(allowed)}.",
                headers=[ADMIN_HEADER],
            )
        participants = body.get("participants", [])
        names = ("serverCallId", "groupCallId", "callConnectionId", "roomId", "startedBy")
        optional = {k: body.get(k) for k in names}
        if not isinstance(participants, list) or not all(
            isinstance(v, (str, type(None))) for v in optional.values()
        ):
            raise ApiError(
                400, "BadRequest", "participants must be a list of raw ids.", headers=[ADMIN_HEADER]
            )
        try:
            call = self._state.create_call(
                participants,
                server_call_id=optional["serverCallId"],
                group_call_id=optional["groupCallId"],
                call_connection_id=optional["callConnectionId"],
                kind=body.get("kind", "group"),
                room_id=optional["roomId"],
                started_by=optional["startedBy"],
            )
        except ValueError as exc:
            raise ApiError(400, "BadRequest", str(exc), headers=[ADMIN_HEADER]) from exc
        return _admin(201, call.to_dict())

    def list_calls(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [c.to_dict() for c in self._state.calls()])

    def end_call(self, request: Request, match: re.Match[str]) -> Response:
        try:
            call = self._state.end_call(match["id"])
        except CallNotFoundError as exc:
            raise ApiError(404, "NotFound", "No such call.", headers=[ADMIN_HEADER]) from exc
        return _admin(200, call.to_dict())

    def list_recordings(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [r.to_dict() for r in self._state.recordings()])

    def get_recording(self, request: Request, match: re.Match[str]) -> Response:
        try:
            return _admin(200, self._state.recording(match["id"]).to_dict())
        except RecordingNotFoundError as exc:
            raise ApiError(404, "NotFound", "No such recording.", headers=[ADMIN_HEADER]) from exc

    def list_requests(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [r.to_dict() for r in self._requests()])

    def clear_requests(self, request: Request, match: re.Match[str]) -> Response:
        self._clear_requests()
        return Response(204, headers=[ADMIN_HEADER])

    def list_callbacks(self, request: Request, match: re.Match[str]) -> Response:
        return _admin(200, [d.to_dict() for d in self._dispatcher.deliveries])
