"""Dead-letter blobs as Event Grid writes them (tests/fixtures/reference/event-grid: the documented
format), holding the captured RecordingFileStatusUpdated event or anything else."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from devtools.acs_emulator.recording_files import RecordingFiles
from tests.reference import load, load_json

DOCUMENTED = load_json("event-grid/dead-letter-events.docs.json")
CAPTURED_EVENT: dict[str, Any] = load("recording-file-status-updated.eventgrid.docs.json")["events"][0]
# What Event Grid adds beside the event's own fields, per schema (the docs' examples).
EVENT_GRID_PROPERTIES = (
    "deadLetterReason",
    "deliveryAttempts",
    "lastDeliveryOutcome",
    "publishTime",
    "lastDeliveryAttemptTime",
)
CLOUD_EVENTS_PROPERTIES = ("deadletterreason", "deliveryattempts", "lastdeliveryoutcome", "publishtime")
# infra/eventgrid-subscription.bicep names the subscription; Event Grid upper-cases it in blob names.
SUBSCRIPTION = "RECORDING-FILE-STATUS-UPDATED"


def dead_lettered(event: dict[str, Any]) -> dict[str, Any]:
    """`event` as Event Grid dead-letters it: the documented dead-letter properties beside its fields."""
    if "eventType" in event:
        documented, names = DOCUMENTED["event_grid_schema"], EVENT_GRID_PROPERTIES
    else:
        documented, names = DOCUMENTED["cloud_events_schema"], CLOUD_EVENTS_PROPERTIES
    return {**event, **{name: documented[name] for name in names}}


def dead_letter_blob(*events: dict[str, Any]) -> bytes:
    """A dead-letter blob's body: "one or more events in an array"."""
    return json.dumps([dead_lettered(event) for event in events]).encode()


def dead_letter_blob_name(now: datetime | None = None) -> str:
    """`<SUBSCRIPTION>/<yyyy>/<m>/<d>/<h>/<guid>.json`, date and hour not zero-padded (the docs)."""
    at = now or datetime.now(UTC)
    return f"{SUBSCRIPTION}/{at.year}/{at.month}/{at.day}/{at.hour}/{uuid.uuid4()}.json"


def captured_event_for(files: RecordingFiles) -> dict[str, Any]:
    """The captured event (Azure docs), with what only ACS can fill in taken from an emulator recording:
    the subject's placeholders and the chunk list (its document ids are not the emulator's). Every
    other field, the event time of 2021 included, is as captured."""
    event = copy.deepcopy(CAPTURED_EVENT)
    event["subject"] = (
        event["subject"]
        .replace("{call-id}", files.call_id)
        .replace("{server-call-id}", files.server_call_id)
        .replace("{recording-id}", files.recording_id)
    )
    event["data"]["recordingStorageInfo"]["recordingChunks"] = [c.storage_info() for c in files.chunks]
    return event
