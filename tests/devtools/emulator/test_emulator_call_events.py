"""CallStarted when a call is created and CallEnded when it ends, to the Event Grid webhooks, shaped like
the docs' examples (tests/fixtures/reference/acs-calling), with either name of the call's duration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator
from tests.reference import calling_events

from .conftest import ALICE, BOB, CallbackReceiver, start_recording, wait_until

DOCS = calling_events()
CALL_STARTED = "Microsoft.Communication.CallStarted"
CALL_ENDED = "Microsoft.Communication.CallEnded"
EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"


@pytest.fixture(autouse=True)
def _duration_name(emulator: AcsEmulator) -> Iterator[None]:
    before = emulator.call_duration_field
    yield
    emulator.call_duration_field = before


def events_of(receiver: CallbackReceiver, event_type: str) -> list[dict[str, Any]]:
    found = []
    for received in receiver.received:
        if received.headers.get("aeg-event-type") != "Notification":
            continue
        (event,) = json.loads(received.body)
        if event["eventType"] == event_type:
            found.append(event)
    return found


def one_event(receiver: CallbackReceiver, event_type: str) -> dict[str, Any]:
    assert wait_until(lambda: len(events_of(receiver, event_type)) >= 1), f"no {event_type}"
    (event,) = events_of(receiver, event_type)
    return event


def test_a_created_group_call_publishes_call_started_shaped_like_the_docs_example(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    call = emulator.create_call([ALICE, BOB])
    event = one_event(callback_receiver, CALL_STARTED)
    docs = DOCS[CALL_STARTED]
    assert list(event) == list(docs)
    assert set(event["data"]) == set(docs["data"]) - {"room"}  # a group call has no room
    assert event["data"]["startedBy"]["communicationIdentifier"] == {
        "rawId": ALICE,
        "communicationUser": {"id": ALICE},
    }
    assert event["subject"] == f"call/{call.server_call_id}/startedBy/{ALICE}"
    assert (event["data"]["serverCallId"], event["data"]["correlationId"]) == (
        call.server_call_id,
        call.correlation_id,
    )
    assert event["data"]["group"] == {"id": call.group_call_id}
    assert (event["data"]["isTwoParty"], event["data"]["isRoomsCall"]) == (False, False)
    assert (event["dataVersion"], event["metadataVersion"]) == ("1.0", "1")
    assert len(event["eventTime"]) == len(docs["eventTime"])


@pytest.mark.parametrize(
    ("kind", "flags"), [("twoParty", (True, False)), ("room", (False, True))], ids=["twoParty", "room"]
)
def test_one_to_one_and_rooms_calls_say_so(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver, kind: str, flags: tuple[bool, bool]
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    call = emulator.create_call([ALICE, BOB], kind=kind)  # type: ignore[arg-type]
    data = one_event(callback_receiver, CALL_STARTED)["data"]
    assert (data["isTwoParty"], data["isRoomsCall"]) == flags
    assert "group" not in data
    assert data.get("room") == ({"id": call.room_id} if kind == "room" else None)


@pytest.mark.parametrize("name", ["durationOfCall", "callDurationInSeconds"])
def test_an_ended_call_publishes_call_ended_after_its_recordings_stopped(
    emulator: AcsEmulator,
    client: CallAutomationClient,
    callback_receiver: CallbackReceiver,
    name: str,
) -> None:
    emulator.call_duration_field = name  # type: ignore[assignment]
    call = emulator.create_call([ALICE, BOB])
    recording_id = start_recording(client, call)
    emulator.add_event_webhook(callback_receiver.url)
    emulator.end_call(call.server_call_id, duration_s=1.0, ended_by=BOB)
    event = one_event(callback_receiver, CALL_ENDED)
    assert emulator.recording(recording_id).stop_reason == "callEnded"
    docs = DOCS[CALL_ENDED]
    assert list(event) == list(docs)
    assert set(event["data"]) - {"endedBy", "reason", "callDurationInSeconds"} == (
        set(docs["data"]) - {"room", "durationOfCall"}
    ) | ({"durationOfCall"} if name == "durationOfCall" else set())
    ended = emulator.state.get_call(call.server_call_id)
    assert ended.ended_at is not None
    assert event["data"][name] == pytest.approx((ended.ended_at - call.created_at).total_seconds(), abs=0.01)
    assert event["subject"] == f"call/{call.server_call_id}"
    assert event["data"]["endedBy"]["communicationIdentifier"]["rawId"] == BOB
    assert set(event["data"]["reason"]) == {"code", "subCode", "phrase"}
    # the recording's files follow the call's end, as the real service's do
    assert wait_until(lambda: len(events_of(callback_receiver, EVENT_TYPE)) == 1)


def test_a_webhook_subscribed_to_recording_files_only_gets_no_call_events(
    emulator: AcsEmulator, client: CallAutomationClient, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url, event_types=[EVENT_TYPE])
    call = emulator.create_call([ALICE])
    recording_id = start_recording(client, call)
    emulator.end_call(call.server_call_id, duration_s=1.0)
    assert wait_until(lambda: len(callback_receiver.received) >= 1)
    assert emulator.wait_for_events(5)
    subjects = [json.loads(r.body)[0]["subject"] for r in callback_receiver.received]
    assert len(subjects) == 1
    assert subjects[0].endswith(recording_id)


def test_an_event_fault_may_name_the_one_event_type_it_shapes(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    emulator.add_fault("duplicate_event", "/api/callbacks", event_type=CALL_ENDED)
    call = emulator.create_call([ALICE])
    emulator.end_call(call.server_call_id)
    assert wait_until(lambda: len(events_of(callback_receiver, CALL_ENDED)) == 2)
    assert emulator.wait_for_events(5)
    assert len(events_of(callback_receiver, CALL_STARTED)) == 1
    first, second = events_of(callback_receiver, CALL_ENDED)
    assert first["id"] == second["id"]


def test_call_events_go_out_as_cloud_events_to_a_cloud_events_webhook(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url, schema="CloudEventSchemaV1_0")
    call = emulator.create_call([ALICE])
    assert wait_until(lambda: len(callback_receiver.received) >= 1)
    event = json.loads(callback_receiver.received[0].body)
    assert (event["type"], event["specversion"]) == (CALL_STARTED, "1.0")
    assert event["data"]["serverCallId"] == call.server_call_id


def test_the_admin_api_creates_rooms_calls_and_chooses_the_duration_name(
    emulator: AcsEmulator, http: requests.Session, callback_receiver: CallbackReceiver
) -> None:
    settings = http.patch(
        f"{emulator.admin_url}/settings", json={"callDurationField": "callDurationInSeconds"}
    )
    assert settings.json()["callDurationField"] == "callDurationInSeconds"
    assert http.patch(f"{emulator.admin_url}/settings", json={"callDurationField": "x"}).status_code == 400
    hooked = http.post(
        f"{emulator.admin_url}/event-webhooks",
        json={"url": callback_receiver.url, "eventTypes": [CALL_STARTED, CALL_ENDED]},
    )
    assert hooked.json()["eventTypes"] == sorted([CALL_STARTED, CALL_ENDED])
    body = {"participants": [ALICE], "kind": "room", "roomId": "room-7", "startedBy": BOB}
    call = http.post(f"{emulator.admin_url}/calls", json=body).json()
    assert (call["kind"], call["roomId"], call["startedBy"]) == ("room", "room-7", BOB)
    http.delete(f"{emulator.admin_url}/calls/{quote(call['serverCallId'], safe='')}")
    ended = one_event(callback_receiver, CALL_ENDED)["data"]
    assert ended["room"] == {"id": "room-7"}
    assert "callDurationInSeconds" in ended
    assert "durationOfCall" not in ended
    bad = http.post(f"{emulator.admin_url}/calls", json={"participants": [ALICE], "kind": "pstn"})
    assert bad.status_code == 400
