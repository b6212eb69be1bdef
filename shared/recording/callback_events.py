"""ACS recording-state callbacks (a JSON array of CloudEvents) parsed into typed events.

Pure: no I/O. The catalog applies these; keeping parsing apart lets tests feed it the real
captured payloads (tests/fixtures/reference/) directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from shared.errors import bad_request
from shared.recording_ids import canonical_recording_id
from shared.times import parse_time

STATE_CHANGED: Final = "Microsoft.Communication.RecordingStateChanged"
START_FAILED: Final = "Microsoft.Communication.StartRecordingFailed"
KNOWN_TYPES: Final = frozenset({STATE_CHANGED, START_FAILED})
START_FAILED_STATE: Final = "startFailed"  # the catalog's state for a StartRecordingFailed event
MAX_EVENTS: Final = 100
_MAX_TEXT: Final = 2048


@dataclass(frozen=True)
class ResultInformation:
    """ACS's reason for a state change (code, subcode, message), as the callback carries it."""

    code: int | None
    sub_code: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}


@dataclass(frozen=True)
class RecordingCallbackEvent:
    """One state callback, reduced to what the catalog keeps."""

    event_id: str
    event_type: str
    time: datetime
    recording_id: str
    server_call_id: str | None
    state: str  # "active", "inactive", ... or "startFailed" for StartRecordingFailed
    result: ResultInformation | None

    @property
    def is_failure(self) -> bool:
        return self.event_type == START_FAILED


def parse_callback_body(payload: object) -> tuple[list[RecordingCallbackEvent], list[str]]:
    """Events we understand, plus the types of those we ignore (logged by the caller)."""
    events = payload if isinstance(payload, list) else [payload]
    if not events or len(events) > MAX_EVENTS:
        raise bad_request(f"The body must be a JSON array of 1 to {MAX_EVENTS} CloudEvents.")
    parsed: list[RecordingCallbackEvent] = []
    ignored: list[str] = []
    for index, event in enumerate(events):
        target = f"[{index}]"
        if not isinstance(event, dict):
            raise bad_request("Each callback event must be a JSON object.", target)
        event_type = _text(event, "type", target)
        if event_type not in KNOWN_TYPES:
            ignored.append(event_type)
            continue
        parsed.append(_parse_event(event, event_type, target))
    return parsed, ignored


def _parse_event(event: dict[str, Any], event_type: str, target: str) -> RecordingCallbackEvent:
    data = event.get("data")
    if not isinstance(data, dict):
        raise bad_request("A recording callback event needs a data object.", f"{target}.data")
    recording_id = canonical_recording_id(_text(data, "recordingId", f"{target}.data"))
    if recording_id is None:
        raise bad_request("data.recordingId is not a valid ACS recording id.", f"{target}.data.recordingId")
    state = START_FAILED_STATE if event_type == START_FAILED else _text(data, "state", f"{target}.data")
    server_call_id = data.get("serverCallId")
    return RecordingCallbackEvent(
        event_id=_text(event, "id", target),
        event_type=event_type,
        time=_time(event.get("time"), f"{target}.time"),
        recording_id=recording_id,
        server_call_id=server_call_id if isinstance(server_call_id, str) and server_call_id else None,
        state=state,
        result=_result(data.get("resultInformation")),
    )


def _text(container: dict[str, Any], name: str, target: str) -> str:
    value = container.get(name)
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT:
        raise bad_request(f"'{name}' must be a non-empty string.", f"{target}.{name}")
    return value


def _time(value: object, target: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request("'time' must be an RFC 3339 timestamp.", target)
    try:
        parsed = parse_time(value)
    except ValueError:
        raise bad_request("'time' must be an RFC 3339 timestamp.", target) from None
    if parsed.tzinfo is None:
        raise bad_request("'time' must carry a time zone.", target)
    return parsed


def _result(value: object) -> ResultInformation | None:
    if not isinstance(value, dict):
        return None
    code, sub_code, message = value.get("code"), value.get("subCode"), value.get("message")
    return ResultInformation(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        sub_code=sub_code if isinstance(sub_code, int) and not isinstance(sub_code, bool) else None,
        message=str(message)[:500] if message else "",
    )
