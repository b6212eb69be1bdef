"""The lifecycle events' envelope: stable ids, the subject a consumer filters on, the schema it follows."""

from __future__ import annotations

import json

from shared.events.catalogue import (
    Announcement,
    EventType,
    cloud_event,
    event_id,
    event_source,
    recording_route,
)
from tests.support.lifecycle import SCHEMA, schema_problems

RECORDING = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxIn0+/x"


def test_the_id_is_stable_per_recording_type_and_sequence_and_differs_otherwise() -> None:
    first = event_id(RECORDING, EventType.ARCHIVE_COMPLETED, 4)
    assert first == event_id(RECORDING, EventType.ARCHIVE_COMPLETED, 4)
    others = {
        event_id(RECORDING, EventType.ARCHIVE_COMPLETED, 5),
        event_id(RECORDING, EventType.ARCHIVE_LOST, 4),
        event_id(RECORDING + "A", EventType.ARCHIVE_COMPLETED, 4),
    }
    assert first not in others
    assert len(others) == 3


def test_the_subject_is_the_recordings_route_with_its_id_percent_encoded() -> None:
    assert recording_route(RECORDING) == "recordings/eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIxIn0%2B%2Fx"


def test_the_source_is_the_apps_api() -> None:
    assert (
        event_source("func-recordings-x.azurewebsites.net")
        == "https://func-recordings-x.azurewebsites.net/api"
    )
    assert event_source(None) == "/api"


def test_an_envelope_carries_the_recording_and_its_sequence_and_follows_the_schema() -> None:
    announced = Announcement(
        EventType.RECORDING_STOPPED, "2026-12-03T10:00:00+00:00", {"stoppedAt": "2026-12-03T10:00:00+00:00"}
    )
    event = cloud_event(announced, recording_id=RECORDING, sequence=2, source="/api")
    assert event["data"] == {
        "recordingId": RECORDING,
        "sequence": 2,
        "stoppedAt": "2026-12-03T10:00:00+00:00",
    }
    assert schema_problems(event) == []
    assert schema_problems({**event, "data": {**event["data"], "sequence": 0}})  # sequences start at 1
    assert schema_problems({**event, "subject": "recordings/a/b"})  # one path segment


def test_the_schema_knows_exactly_the_event_types_the_code_has() -> None:
    schema = json.loads(SCHEMA.read_text())
    assert schema["properties"]["type"]["enum"] == [kind.value for kind in EventType]


def test_the_schema_refuses_a_time_without_its_zone() -> None:
    """`format: date-time` is checked only when jsonschema has its RFC 3339 checker installed: without
    it every time passed, however wrong."""
    at = "2026-12-03T10:00:00+00:00"
    announced = Announcement(EventType.RECORDING_STOPPED, at, {"stoppedAt": at})
    event = cloud_event(announced, recording_id=RECORDING, sequence=2, source="/api")
    assert schema_problems(event) == []
    assert schema_problems({**event, "time": "2026-12-03T10:00:00"})
    assert schema_problems({**event, "time": "yesterday"})
