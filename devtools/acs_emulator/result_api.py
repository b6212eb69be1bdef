"""``GET /calling/recordings/{recordingId}/result``: a recording's files, asked for instead of awaited.

A preview operation (api-versions 2024-09-01-preview and 2025-08-15-preview; not in the stable
2026-03-12 spec the rest of the emulator follows, and not exposed by azure-communication-callautomation
1.6.0). Its shape is the captured exchange, recording-result.get.real-2025-08-15-preview.json (tests/
fixtures/reference/acs-recording), key for key: ``recordingId``, ``recordingStorageInfo.recordingChunks``
(the same chunk entries the file status event carries), ``errors``, ``recordingStartTime``,
``recordingDurationMs``, ``sessionEndReason`` and ``recordingExpirationTime``.

The capture was asked 4 s after the stop and answered ``sessionEndReason: SessionStillOngoing`` with
``recordingExpirationTime: 0001-01-01T00:00:00Z`` (its chunk already listed). The emulator answers
that way for ``pending_seconds`` after the stop (a knob: tests set it to 0, or to hours), and then
with the session's end reason, as its file status event says it. Authenticated like every control
route (HMAC over the Host, or an Entra bearer token from the emulator's issuer).

UNVERIFIED, not in the capture: how long the real service says SessionStillOngoing; its end reason
and expiration time afterwards (here: the event's end reason, and the stop plus 48 hours, ACS's
longest documented retention); its answer for a recording still live (here: SessionStillOngoing and
no chunks) and for an unknown id (here: the captured 404 of the recording routes, code 8522); its
answer to a stable api-version (here: the api-version error of every route).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from .http_types import Request, Response, json_response
from .recording_api import checked_api_version, recording_not_found
from .recording_files import ContentStore, RecordingFiles, format_time
from .state import EmulatorState, RecordingNotFoundError, RecordingSnapshot

RESULT_PATH: Final = re.compile(r"^/calling/recordings/(?P<id>[^/:]+)/result$")
# The preview versions the operation was seen with (the capture's note).
RESULT_API_VERSIONS: Final = frozenset({"2024-09-01-preview", "2025-08-15-preview"})
STILL_ONGOING: Final = "SessionStillOngoing"
NO_EXPIRATION: Final = "0001-01-01T00:00:00Z"  # as captured while the session was still ongoing
RETENTION: Final = timedelta(hours=48)


def result_body(
    snapshot: RecordingSnapshot, files: RecordingFiles | None, *, now: datetime, pending_seconds: float
) -> dict[str, Any]:
    """The result of a recording as the service would answer it `now` (key order as captured)."""
    settled = (
        files is not None
        and snapshot.stopped_at is not None
        and (now - snapshot.stopped_at).total_seconds() >= pending_seconds
    )
    chunks = [chunk.storage_info() for chunk in files.chunks] if files is not None else []
    start = files.timeline.start if files is not None else snapshot.activated_at or snapshot.started_at
    stopped = snapshot.stopped_at
    return {
        "recordingId": snapshot.recording_id,
        "recordingStorageInfo": {"recordingChunks": chunks},
        "errors": [],
        "recordingStartTime": format_time(start),
        "recordingDurationMs": files.duration_ms if files is not None else 0,
        "sessionEndReason": files.session_end_reason if settled and files is not None else STILL_ONGOING,
        "recordingExpirationTime": (
            format_time(stopped + RETENTION) if settled and stopped is not None else NO_EXPIRATION
        ),
    }


class RecordingResultApi:
    """The handler; `pending_seconds` is read on every request, so a test may change it at any time."""

    def __init__(
        self,
        state: EmulatorState,
        store: ContentStore,
        pending_seconds: Callable[[], float],
        now: Callable[[], datetime],
    ) -> None:
        self._state = state
        self._store = store
        self._pending_seconds = pending_seconds
        self._now = now

    def get(self, request: Request, match: re.Match[str]) -> Response:
        checked_api_version(request, RESULT_API_VERSIONS)
        recording_id = match["id"]
        try:
            snapshot = self._state.recording(recording_id)
        except RecordingNotFoundError as exc:
            raise recording_not_found(recording_id) from exc
        try:
            files: RecordingFiles | None = self._store.files(recording_id)
        except KeyError:
            files = None  # still live: nothing produced yet
        body = result_body(snapshot, files, now=self._now(), pending_seconds=self._pending_seconds())
        return json_response(200, body)
