"""RecordingFileStatusUpdated delivery to Event Grid webhooks: shape, headers, retries, safety.
(CallStarted and CallEnded: test_emulator_call_events.py.)"""

from __future__ import annotations

import json
import re

import pytest
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.events import EVENT_TYPE, WebhookValidationError

from .conftest import CallbackReceiver, load_reference, start_recording, wait_until


def _stop(emulator: AcsEmulator, client: CallAutomationClient, call: Call, seconds: float = 1.0) -> str:
    recording_id = start_recording(client, call)
    emulator.stop_recording(recording_id, duration_s=seconds)
    return recording_id


def test_file_status_event_is_shaped_like_the_docs_example(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    captured = load_reference("recording-file-status-updated.eventgrid.docs.json")["events"][0]
    emulator.add_event_webhook(callback_receiver.url)
    recording_id = _stop(emulator, client, call, 2.5)
    received = callback_receiver.wait_for(1)[0]
    assert received.headers["aeg-event-type"] == "Notification"
    events = json.loads(received.body)
    assert isinstance(events, list)
    assert len(events) == 1
    event = events[0]
    assert list(event) == list(captured)
    sdk_fields = load_reference("recording-file-status-updated.cloudevent.sdk-test.json")["events"][0]["data"]
    assert set(event["data"]) == set(captured["data"]) | set(sdk_fields)
    chunk = event["data"]["recordingStorageInfo"]["recordingChunks"][0]
    assert list(chunk) == list(captured["data"]["recordingStorageInfo"]["recordingChunks"][0])
    files = emulator.recording_files(recording_id)
    assert chunk["contentLocation"] == files.chunks[0].content_location
    assert event["subject"] == (
        f"/recording/call/{call.group_call_id}/serverCallId/{call.server_call_id}/recordingId/{recording_id}"
    )
    assert re.fullmatch(
        r"/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.communication"
        r"/communicationservices/[^/]+",
        event["topic"],
    )
    assert event["data"]["recordingDurationMs"] == 2500
    assert (event["eventType"], event["dataVersion"], event["metadataVersion"]) == (
        captured["eventType"],
        "1.0",
        "1",
    )
    assert len(event["eventTime"]) == len(captured["eventTime"])


def test_failed_webhook_delivery_is_retried(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    callback_receiver.statuses.extend([500, 503])
    _stop(emulator, client, call)
    received = callback_receiver.wait_for(3)
    assert emulator.wait_for_events(5)
    attempts = [d for d in emulator.event_deliveries if d.url == callback_receiver.url]
    assert [(d.attempt, d.outcome, d.status) for d in attempts] == [
        (1, "failed", 500),
        (2, "failed", 503),
        (3, "delivered", 200),
    ]
    assert [r.headers["aeg-delivery-count"] for r in received] == ["0", "1", "2"]
    assert len({json.loads(r.body)[0]["id"] for r in received}) == 1


def test_bad_request_from_the_webhook_is_not_retried(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    callback_receiver.statuses.append(400)
    _stop(emulator, client, call)
    callback_receiver.wait_for(1)
    assert emulator.wait_for_events(5)
    assert [d.status for d in emulator.event_deliveries if d.url == callback_receiver.url] == [400]


def test_non_loopback_webhook_is_skipped(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    url = "https://contoso.example.com/api/events"
    emulator.add_event_webhook(url)
    _stop(emulator, client, call)
    assert wait_until(lambda: any(d.url == url for d in emulator.event_deliveries))
    [delivery] = [d for d in emulator.event_deliveries if d.url == url]
    assert (delivery.outcome, delivery.status) == ("skipped", None)
    assert "not loopback" in (delivery.error or "")


def test_validation_handshake_echoes_the_code(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url, validate=True)
    received = callback_receiver.wait_for(1)[0]
    assert received.headers["aeg-event-type"] == "SubscriptionValidation"
    event = json.loads(received.body)[0]
    assert event["eventType"] == "Microsoft.EventGrid.SubscriptionValidationEvent"
    assert callback_receiver.url in [w.url for w in emulator.event_webhooks]


def test_failed_validation_does_not_subscribe(
    emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.answer_validation = False
    with pytest.raises(WebhookValidationError):
        emulator.add_event_webhook(callback_receiver.url, validate=True)
    assert callback_receiver.url not in [w.url for w in emulator.event_webhooks]


def test_cloud_events_schema_posts_one_cloud_event(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url, schema="CloudEventSchemaV1_0", validate=True)
    assert callback_receiver.received[0].headers["WebHook-Request-Origin"] == "eventgrid.azure.net"
    _stop(emulator, client, call)
    event = json.loads(callback_receiver.wait_for(2)[1].body)
    assert event["type"] == "Microsoft.Communication.RecordingFileStatusUpdated"
    assert event["specversion"] == "1.0"
    assert "recordingStorageInfo" in event["data"]


def test_duplicate_event_fault_delivers_the_same_event_twice(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    emulator.add_fault("duplicate_event", "/api/callbacks")
    _stop(emulator, client, call)
    received = callback_receiver.wait_for(2)
    ids = [json.loads(r.body)[0]["id"] for r in received]
    assert ids[0] == ids[1]
    assert emulator.wait_for_events(5)
    assert [d.note for d in emulator.event_deliveries if d.url == callback_receiver.url] == [
        None,
        "duplicate",
    ]


def test_reorder_event_fault_sends_the_held_event_after_the_next(
    emulator: AcsEmulator, client: CallAutomationClient, callback_receiver: CallbackReceiver
) -> None:
    emulator.add_event_webhook(callback_receiver.url, event_types=[EVENT_TYPE])  # not the calls' events
    emulator.add_fault("reorder_event", "/api/callbacks")
    first = _stop(emulator, client, emulator.create_call(["8:acs:one"]))
    assert emulator.wait_for_events(5)
    assert callback_receiver.received == []
    second = _stop(emulator, client, emulator.create_call(["8:acs:two"]))
    received = callback_receiver.wait_for(2)
    subjects = [json.loads(r.body)[0]["subject"] for r in received]
    assert subjects[0].endswith(second)
    assert subjects[1].endswith(first)
    assert emulator.wait_for_events(5)  # both deliveries recorded before the next test clears the log


def test_no_event_without_a_webhook(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> None:
    emulator.clear_event_deliveries()
    _stop(emulator, client, call)
    assert emulator.wait_for_events(5)
    assert emulator.event_deliveries == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"recording_content_type": "audio", "recording_format_type": "mp3"}, ("Audio", "Mixed", "Mp3")),
        ({"recording_channel_type": "unmixed"}, ("Audio", "Unmixed", "Wav")),
        (
            {"recording_content_type": "audioVideo", "recording_format_type": "mp4"},
            ("AudioVideo", "Mixed", "Mp4"),
        ),
    ],
)
def test_file_status_event_names_the_recordings_content_channel_and_format_in_pascal_case(
    emulator: AcsEmulator,
    client: CallAutomationClient,
    call: Call,
    callback_receiver: CallbackReceiver,
    options: dict[str, str],
    expected: tuple[str, str, str],
) -> None:
    emulator.add_event_webhook(callback_receiver.url)
    recording_id = start_recording(client, call, **options)
    emulator.stop_recording(recording_id, duration_s=0.5)
    data = json.loads(callback_receiver.wait_for(1)[0].body)[0]["data"]
    assert (
        data["recordingContentType"],
        data["recordingChannelType"],
        data["recordingFormatType"],
    ) == expected
