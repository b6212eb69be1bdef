"""How a catalog entity evolves under state callbacks: pure functions, no storage."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shared.recording.callback_events import RecordingCallbackEvent, ResultInformation
from shared.recording.catalog import (
    StartedRecording,
    apply_event,
    entity_to_json,
    index_rows,
    recording_partition,
    started_entity,
)
from shared.recording.catalog_index import index_keys
from shared.recording.options import parse_start_request

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def event(
    state: str, seconds: int, event_id: str | None = None, *, failed: bool = False
) -> RecordingCallbackEvent:
    return RecordingCallbackEvent(
        event_id=event_id or f"e-{state}-{seconds}",
        event_type="Microsoft.Communication.StartRecordingFailed"
        if failed
        else "Microsoft.Communication.RecordingStateChanged",
        time=T0 + timedelta(seconds=seconds),
        recording_id="rec/1+",
        server_call_id="call-1",
        state=state,
        result=ResultInformation(500, 8583, "boom") if failed else None,
    )


def test_partition_key_has_no_characters_table_storage_forbids() -> None:
    key = recording_partition("a/b\\c#d?e")
    assert not set("/\\#?") & set(key)


def test_started_entity_keeps_the_options_as_given() -> None:
    options = parse_start_request({"serverCallId": "call-1", "channel": "unmixed"})
    entity = started_entity(StartedRecording("rec/1+", "inactive", "azureCommunicationServices", options, T0))
    assert json.loads(entity["options"]) == {
        "serverCallId": "call-1",
        "content": "audio",
        "channel": "unmixed",
        "format": "wav",
    }
    assert entity["serverCallId"] == "call-1"


def test_first_callback_creates_an_entity_with_its_state() -> None:
    entity = apply_event(None, event("active", 1))
    assert entity is not None
    assert (entity["state"], entity["serverCallId"]) == ("active", "call-1")


def test_duplicate_delivery_changes_nothing() -> None:
    entity = apply_event(None, event("active", 1, "same"))
    assert apply_event(entity, event("active", 1, "same")) is None


def test_state_follows_event_time_not_arrival_order() -> None:
    late = apply_event(None, event("inactive", 5))
    entity = apply_event(late, event("active", 1))
    assert entity is not None
    listed = entity_to_json(entity)
    assert listed["state"] == "inactive"
    assert [c["state"] for c in listed["stateChanges"]] == ["active", "inactive"]


def test_start_failure_is_recorded_as_last_error() -> None:
    entity = apply_event(None, event("startFailed", 1, failed=True))
    assert entity is not None
    assert entity_to_json(entity)["lastError"]["subCode"] == 8583


def test_each_index_row_names_its_recording_and_the_rows_are_the_ones_the_index_needs() -> None:
    entity = apply_event(None, event("inactive", 5))
    assert entity is not None
    rows = index_rows({**entity, "serverCallId": "call-1", "archiveStatus": "Completed"})
    assert {(row["PartitionKey"], row["RowKey"]) for row in rows} == index_keys(
        {**entity, "serverCallId": "call-1", "archiveStatus": "Completed"}
    )
    assert len(rows) == 4
    assert {(row["recordingId"], row["createdAt"]) for row in rows} == {("rec/1+", entity["createdAt"])}
