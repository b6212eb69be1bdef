"""CallStarted and CallEnded, parsed from the docs' examples and mutations of them (pure)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.errors import InvalidEventError
from shared.recording.call_events import CALL_ENDED, CALL_STARTED, parse_call_event
from tests.reference import calling_events

DOCS = calling_events()
RAW = "8:acs:bc360ba8-d29b-4ef2-b698-769ebef85521_0000000c-1fb9-4878-07fd-0848220077e1"


def parse(event: dict[str, Any]) -> Any:
    return parse_call_event(
        event_type=event["eventType"], event_id=event["id"], event_time=event["eventTime"], data=event["data"]
    )


def docs(event_type: str, **data: Any) -> dict[str, Any]:
    event = copy.deepcopy(DOCS[event_type])
    event["data"]["serverCallId"] = "aHR0cHM6Ly9hcGkuZXhhbXBsZS9jb252L3g/aT0x"
    event["data"]["correlationId"] = "d732db64-4803-462d-be9c-518943ea2b7a"
    event["data"]["room"]["id"] = "99199690-0000-4000-8000-000000000000"
    event["data"].update(data)
    return event


def test_the_docs_call_started_example_is_a_rooms_call_started_by_its_raw_id() -> None:
    call = parse(docs(CALL_STARTED))
    assert call.event_type == CALL_STARTED
    assert (call.kind, call.started_by, call.group_id) == (
        "room",
        RAW,
        "00000000-0000-0000-0000-000000000000",
    )
    assert call.time == datetime(2021, 9, 22, 17, 2, 38, 690585, tzinfo=UTC)
    assert call.duration_s is None


def test_the_older_docs_shape_of_started_by_is_read_too() -> None:
    call = parse(docs(CALL_STARTED, startedBy={"rawId": RAW, "communicationUser": {"id": RAW}}))
    assert call.started_by == RAW


@pytest.mark.parametrize("name", ["durationOfCall", "callDurationInSeconds"])
def test_call_ended_takes_either_name_of_the_duration(name: str) -> None:
    event = docs(CALL_ENDED)
    event["data"].pop("durationOfCall")
    event["data"][name] = 49.7
    event["data"]["endedBy"] = {"communicationIdentifier": {"rawId": RAW}, "kind": "Participant", "name": "x"}
    event["data"]["reason"] = {"code": 0, "subCode": 5000, "phrase": "Call ended successfully"}
    call = parse(event)
    assert (call.duration_s, call.ended_by, call.end_reason) == (49.7, RAW, "0/5000 Call ended successfully")


@pytest.mark.parametrize(
    ("facts", "kind"),
    [({"isTwoParty": True, "isRoomsCall": False}, "twoParty"), ({"isRoomsCall": False}, "group")],
)
def test_the_call_kind_comes_from_the_flags(facts: dict[str, Any], kind: str) -> None:
    event = docs(CALL_STARTED, **facts)
    event["data"].pop("room")
    assert parse(event).kind == kind


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"serverCallId": None}, "serverCallId"),
        ({"serverCallId": "a b"}, "serverCallId"),
        ({"serverCallId": 7}, "serverCallId"),
        ({"startedBy": "8:acs:x"}, "startedBy"),
        ({"startedBy": {"communicationIdentifier": {"rawId": ""}}}, "startedBy.rawId"),
        ({"group": "g"}, "group"),
        ({"room": {"id": 3}}, "room.id"),
        ({"isTwoParty": "yes"}, "isTwoParty"),
        ({"durationOfCall": -1}, "durationOfCall"),
        ({"durationOfCall": True}, "durationOfCall"),
        ({"durationOfCall": float("inf")}, "durationOfCall"),
        ({"reason": {"code": "0"}}, "reason.code"),
        ({"reason": {"phrase": "x" * 500}}, "reason.phrase"),
    ],
)
def test_a_malformed_call_event_is_refused_naming_the_field(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidEventError, match=problem.replace(".", r"\.")):
        parse(docs(CALL_ENDED, **change))


def test_other_event_types_and_shapes_are_refused() -> None:
    with pytest.raises(InvalidEventError):
        parse({**docs(CALL_STARTED), "eventType": "Microsoft.Communication.IncomingCall"})
    with pytest.raises(InvalidEventError):
        parse_call_event(event_type=CALL_STARTED, event_id="e", event_time="2026-01-01T00:00:00Z", data=[])
    with pytest.raises(InvalidEventError):
        parse_call_event(event_type=CALL_STARTED, event_id="e", event_time="soon", data={"serverCallId": "x"})
