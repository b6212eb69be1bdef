"""ACS calling events (`CallStarted`, `CallEnded`) -> validated call facts (pure, no I/O).

ACS publishes them on Event Grid for ACS VoIP calls (1:1, group, Rooms); not for PSTN, bots or
Teams-interop calls (Azure docs, "Azure Communication Services - Voice and video calling events",
Limitations). Their data: `serverCallId`, `correlationId`, `startedBy`, `group{id}`, `room{id}`,
`isTwoParty`, `isRoomsCall`; CallEnded adds `endedBy`, `reason{code, subCode, phrase}` and the call's
length in seconds, which the docs sample names `durationOfCall` and the SDK models name
`callDurationInSeconds` (both are read). The samples are kept in
tests/fixtures/reference/acs-calling/.

Where the two public shapes differ, both are read: `startedBy` is an AcsCallParticipant
(`{communicationIdentifier: {rawId, ...}, role}`) in the SDK models and in the docs sample of
2022-12, but carries `rawId` directly in the docs sample of 2021. UNVERIFIED which one the service
sends today, and whether a 1:1 call carries a `group` (the docs sample of a two-party call does,
with the all-zero GUID).

Event Grid delivers at least once, in any order, possibly forged if the endpoint leaks: every field
used later is checked here, and a bad event is refused as a whole (InvalidEventError: logged and
dropped, never retried).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from shared.errors import InvalidEventError
from shared.times import as_utc, parse_time

CALL_STARTED: Final = "Microsoft.Communication.CallStarted"
CALL_ENDED: Final = "Microsoft.Communication.CallEnded"
CALL_EVENT_TYPES: Final = (CALL_STARTED, CALL_ENDED)
CallKind = Literal["group", "room", "twoParty"]
CALL_KINDS: Final[tuple[CallKind, ...]] = ("group", "room", "twoParty")
DURATION_FIELDS: Final = ("callDurationInSeconds", "durationOfCall")  # SDK models; docs sample
MAX_ID: Final = 2048
_SHORT: Final = re.compile(r"^[A-Za-z0-9 ._:,'()/-]{0,120}$")


@dataclass(frozen=True)
class CallEvent:
    """One CallStarted or CallEnded, as the policy and the catalog need it."""

    event_type: str
    event_id: str
    time: datetime  # when ACS says it happened (the event time), UTC
    server_call_id: str
    correlation_id: str | None = None
    started_by: str | None = None  # raw id of the participant who started the call
    group_id: str | None = None
    room_id: str | None = None
    is_two_party: bool = False
    is_rooms_call: bool = False
    # CallEnded only
    ended_by: str | None = None  # raw id, when a participant ended it
    end_reason: str | None = None  # "code/subCode phrase", short and plain
    duration_s: float | None = None

    @property
    def kind(self) -> CallKind:
        """`room` for a Rooms call, `twoParty` for a 1:1 call, else `group`."""
        if self.is_rooms_call or self.room_id is not None:
            return "room"
        return "twoParty" if self.is_two_party else "group"


def parse_call_event(*, event_type: str, event_id: str, event_time: object, data: object) -> CallEvent:
    """Validate one CallStarted/CallEnded event (Event Grid or CloudEvents schema)."""
    if event_type not in CALL_EVENT_TYPES:
        raise InvalidEventError("not a CallStarted or CallEnded event")
    if not isinstance(data, Mapping):
        raise InvalidEventError("data must be an object")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        raise InvalidEventError("id must be a non-empty string of at most 128 characters")
    ended = event_type == CALL_ENDED
    return CallEvent(
        event_type=event_type,
        event_id=event_id,
        time=_time(event_time),
        server_call_id=_identifier(data.get("serverCallId"), "serverCallId", required=True) or "",
        correlation_id=_identifier(data.get("correlationId"), "correlationId"),
        started_by=_participant(data.get("startedBy"), "startedBy"),
        group_id=_object_id(data.get("group"), "group"),
        room_id=_object_id(data.get("room"), "room"),
        is_two_party=_flag(data.get("isTwoParty"), "isTwoParty"),
        is_rooms_call=_flag(data.get("isRoomsCall"), "isRoomsCall"),
        ended_by=_participant(data.get("endedBy"), "endedBy") if ended else None,
        end_reason=_reason(data.get("reason")) if ended else None,
        duration_s=_duration(data) if ended else None,
    )


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(parse_time(value))
        except ValueError:
            pass
    raise InvalidEventError("the event has no valid time")


def _identifier(value: object, name: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_ID
        or any(ch.isspace() or ord(ch) < 0x20 for ch in value)
    ):
        raise InvalidEventError(f"data.{name} must be a non-empty id without whitespace")
    return value


def _participant(value: object, name: str) -> str | None:
    """The raw id of an AcsCallParticipant / AcsCallEndedBy: `{communicationIdentifier: {rawId}}`, or
    `{rawId}` as in the 2021 docs sample. None when absent (or it names no one)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidEventError(f"data.{name} must be an object")
    identifier = value.get("communicationIdentifier", value)
    raw = identifier.get("rawId") if isinstance(identifier, Mapping) else None
    return _identifier(raw, f"{name}.rawId")


def _object_id(value: object, name: str) -> str | None:
    """`group{id}` / `room{id}`."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidEventError(f"data.{name} must be an object with an id")
    found = value.get("id")
    if found is not None and (not isinstance(found, str) or len(found) > 256):
        raise InvalidEventError(f"data.{name}.id must be a string")
    return _identifier(found, f"{name}.id")


def _flag(value: object, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    raise InvalidEventError(f"data.{name} must be true or false")


def _duration(data: Mapping[str, Any]) -> float | None:
    for name in DURATION_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise InvalidEventError(f"data.{name} must be a non-negative number of seconds")
        return float(value)
    return None


def _reason(value: object) -> str | None:
    """AcsCallEndReason `{code, subCode, phrase}` as one short line, e.g. `0/0 Call ended`."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidEventError("data.reason must be an object")
    parts: list[str] = []
    for name in ("code", "subCode"):
        number = value.get(name)
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            raise InvalidEventError(f"data.reason.{name} must be an integer")
        parts.append("" if number is None else str(number))
    phrase = value.get("phrase")
    if phrase is not None and (not isinstance(phrase, str) or not _SHORT.fullmatch(phrase)):
        raise InvalidEventError("data.reason.phrase must be a short plain phrase")
    codes = "/".join(parts).strip("/")
    return " ".join(part for part in (codes, phrase or "") if part) or None
