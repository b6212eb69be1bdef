"""Event Grid dead-letter blobs -> the file events to replay, and everything else named (the documented
format: tests/fixtures/reference/event-grid)."""

from __future__ import annotations

import json

import pytest

from shared.archive.dead_letters import NOT_REPLAYED, OURS, REPLAYED, moved_name, read_dead_letter
from shared.archive.events import EVENT_TYPE
from shared.archive.intake import job_of
from tests.reference import load
from tests.support.dead_letters import CAPTURED_EVENT, DOCUMENTED, dead_letter_blob, dead_letter_blob_name

RECORDING_ID = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMzAwOTE4MC04ZTJmLTRkNzktYmM0OC04M2ZhYTkyZmZmOTUifQ"
CLOUD_EVENT = load("recording-file-status-updated.cloudevent.sdk-test.json")["events"][0]


def named(event: dict[str, object]) -> dict[str, object]:
    """The captured event with a real-shaped recording id in place of the docs' placeholders."""
    return {**event, "subject": f"/recording/call/c1/serverCallId/s1/recordingId/{RECORDING_ID}"}


def test_a_dead_lettered_event_grid_event_is_read_with_its_fields_as_delivered() -> None:
    letter = read_dead_letter(dead_letter_blob(named(CAPTURED_EVENT)))
    assert letter.problems == ()
    [event] = letter.events
    assert (event.event_type, event.event_id, event.event_time, event.data) == (
        EVENT_TYPE,
        CAPTURED_EVENT["id"],
        CAPTURED_EVENT["eventTime"],
        CAPTURED_EVENT["data"],
    )
    job = job_of(event)
    assert job.recording_id == RECORDING_ID


def test_a_dead_lettered_cloud_event_is_read_too() -> None:
    letter = read_dead_letter(dead_letter_blob(CLOUD_EVENT))
    assert letter.problems == ()
    [event] = letter.events
    assert (event.event_type, event.event_id) == (EVENT_TYPE, CLOUD_EVENT["id"])
    assert event.data == CLOUD_EVENT["data"]


def test_one_blob_holds_one_or_more_events() -> None:
    body = dead_letter_blob(named(CAPTURED_EVENT), CLOUD_EVENT, named(CAPTURED_EVENT))
    assert len(read_dead_letter(body).events) == 3


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    assert len(read_dead_letter(b"\xef\xbb\xbf" + dead_letter_blob(CLOUD_EVENT)).events) == 1


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\x00\xff garbage {", "not UTF-8 JSON"),
        (b'{"half": ', "not UTF-8 JSON"),
        (b"[]", "an empty array"),
        (b'[42, "text"]', "item 0 is not an Event Grid or CloudEvents event"),
        (b'{"hello": "world"}', "item 0 is not an Event Grid or CloudEvents event"),
    ],
)
def test_a_blob_that_holds_no_event_is_named_never_raised(body: bytes, problem: str) -> None:
    letter = read_dead_letter(body)
    assert letter.events == ()
    assert letter.problems[0] == problem


def test_events_of_other_types_are_named_by_type_and_not_replayed() -> None:
    documented = [DOCUMENTED["event_grid_schema"], DOCUMENTED["cloud_events_schema"]]
    letter = read_dead_letter(json.dumps([*documented, named(CAPTURED_EVENT)]).encode())
    assert len(letter.events) == 1
    assert letter.problems == (
        f"item 0 is a Microsoft.Storage.BlobCreated event, not {EVENT_TYPE}",
        f"item 1 is a fooEventType event, not {EVENT_TYPE}",
    )


def test_a_type_that_is_not_a_plain_name_is_not_repeated_in_the_log() -> None:
    forged = {**CAPTURED_EVENT, "eventType": "x\nERROR forged log line"}
    [problem] = read_dead_letter(json.dumps([forged]).encode()).problems
    assert "\n" not in problem
    assert "another type" in problem


def test_moved_blobs_leave_event_grids_names_for_prefixes_event_grid_never_writes() -> None:
    name = dead_letter_blob_name()
    assert name.split("/", 1)[0].isupper()
    for prefix in OURS:
        assert prefix == prefix.lower()
        assert not name.startswith(prefix)
    assert (moved_name(REPLAYED, name), moved_name(NOT_REPLAYED, name)) == (
        f"replayed/{name}",
        f"not-replayed/{name}",
    )
