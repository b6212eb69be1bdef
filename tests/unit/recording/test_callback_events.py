"""State callbacks (CloudEvents arrays) parsed from the real captured payload and variants."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.errors import ApiError
from shared.recording.callback_events import START_FAILED, parse_callback_body
from tests.reference import real_state_changed_event


def test_real_recording_state_changed_event_is_understood() -> None:
    (event,), ignored = parse_callback_body([real_state_changed_event()])
    real = real_state_changed_event()
    assert ignored == []
    assert event.recording_id == real["data"]["recordingId"]
    assert event.server_call_id == real["data"]["serverCallId"]
    assert event.state == "active"
    assert event.time == datetime(2025, 6, 13, 19, 3, 17, 813282, tzinfo=UTC)


def test_start_recording_failed_is_kept_as_a_failure_with_its_result() -> None:
    failed: dict[str, Any] = copy.deepcopy(real_state_changed_event())
    failed["type"] = START_FAILED
    failed["data"]["resultInformation"] = {"code": 400, "subCode": 8583, "message": "Recording failed."}
    (event,), _ = parse_callback_body([failed])
    assert event.is_failure
    assert event.state == "startFailed"
    assert event.result is not None
    assert event.result.sub_code == 8583


def test_other_event_types_are_ignored_and_reported() -> None:
    other = {**real_state_changed_event(), "type": "Microsoft.Communication.CallConnected"}
    events, ignored = parse_callback_body([other])
    assert (events, ignored) == ([], ["Microsoft.Communication.CallConnected"])


@pytest.mark.parametrize("body", [[], {}, "x", [1], [None]])
def test_bodies_that_are_not_event_arrays_are_400(body: object) -> None:
    with pytest.raises(ApiError) as caught:
        parse_callback_body(body)
    assert caught.value.status == 400


def test_event_without_recording_id_is_400_naming_the_field() -> None:
    broken = copy.deepcopy(real_state_changed_event())
    del broken["data"]["recordingId"]
    with pytest.raises(ApiError) as caught:
        parse_callback_body([broken])
    assert caught.value.target == "[0].data.recordingId"


def test_event_time_without_zone_is_400() -> None:
    broken = {**real_state_changed_event(), "time": "2025-06-13T19:03:17"}
    with pytest.raises(ApiError):
        parse_callback_body([broken])
