"""The recording state machine and id shapes, without HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from devtools.acs_emulator import ids
from devtools.acs_emulator.schema import RequestValidationError, validate_start_request
from devtools.acs_emulator.state import (
    CallNotFoundError,
    EmulatorState,
    RecordingConflictError,
    RecordingNotFoundError,
    RecordingSnapshot,
    StateChange,
)

from .conftest import ALICE, BOB, load_reference, wait_until

CAPTURED_RECORDING_ID = (
    "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwNDAwOTg4MC01ZGRjLTQ4NDAtYmNkZC01YTY1N2YyODI5M2QiLCJSZXNvdXJjZVNwZWNpZmljSWQiOiIwNTMy"
    "ZmE5My0wNWUyLTQ5MGYtOGVhNi1jMjRiOTdiNTk2ZGUifQ"
)


@pytest.fixture
def state() -> Iterator[EmulatorState]:
    store = EmulatorState(activation_delay=0.02)
    yield store
    store.close()


def _events(store: EmulatorState) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def listener(snapshot: RecordingSnapshot, change: StateChange) -> None:
        seen.append((change.state, change.reason))

    store.add_listener(listener)
    return seen


def _start(store: EmulatorState, server_call_id: str, **fields: object) -> RecordingSnapshot:
    body = {"callLocator": {"serverCallId": server_call_id, "kind": "serverCallLocator"}, **fields}
    snapshot, _ = store.start_recording(validate_start_request(body), api_version="2026-03-12")
    return snapshot


def test_recording_id_encoding_reproduces_a_captured_id() -> None:
    decoded = ids.decode_recording_id(CAPTURED_RECORDING_ID)
    assert ids.encode_recording_id(decoded["PlatformEndpointId"], decoded["ResourceSpecificId"]) == (
        CAPTURED_RECORDING_ID
    )


def test_captured_start_response_id_has_the_same_shape() -> None:
    real = load_reference("start-recording.request-response.real-2026-03-12.json")["response"]["body"]
    assert set(ids.decode_recording_id(real["recordingId"])) == {"PlatformEndpointId", "ResourceSpecificId"}


def test_new_recording_id_carries_the_bot_connection_id() -> None:
    recording_id, bot = ids.new_recording_id()
    assert ids.decode_recording_id(recording_id)["PlatformEndpointId"] == bot
    assert "=" not in recording_id


def test_server_call_id_is_padded_base64_of_a_conversation_url() -> None:
    decoded = base64.b64decode(ids.new_server_call_id(), validate=True).decode()
    assert decoded.startswith("https://api.flightproxy.skype.com/api/v2/cp/")
    assert "?i=" in decoded
    assert "&e=" in decoded


def test_recording_becomes_active_after_activation_delay(state: EmulatorState) -> None:
    seen = _events(state)
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    assert rec.state == "inactive"
    assert wait_until(lambda: state.get_recording(rec.recording_id).state == "active")
    assert seen == [("active", "joined")]


def test_pause_on_start_stays_inactive_until_resumed(state: EmulatorState) -> None:
    seen = _events(state)
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id, pauseOnStart=True)
    assert wait_until(lambda: seen == [("inactive", "joinedPaused")])
    state.resume_recording(rec.recording_id)
    assert state.get_recording(rec.recording_id).state == "active"
    assert seen[-1] == ("active", "resumed")


def test_pause_before_join_keeps_recording_inactive(state: EmulatorState) -> None:
    state.activation_delay = 0.1
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    state.pause_recording(rec.recording_id)
    assert wait_until(lambda: state.recording(rec.recording_id).activated_at is not None)
    assert state.get_recording(rec.recording_id).state == "inactive"


def test_pause_and_resume_that_change_nothing_emit_nothing(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    assert wait_until(lambda: state.get_recording(rec.recording_id).state == "active")
    seen = _events(state)
    state.resume_recording(rec.recording_id)
    state.pause_recording(rec.recording_id)
    state.pause_recording(rec.recording_id)
    assert seen == [("inactive", "paused")]


def test_stop_of_active_recording_reports_inactive_then_stopped(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    assert wait_until(lambda: state.get_recording(rec.recording_id).state == "active")
    seen = _events(state)
    state.stop_recording(rec.recording_id)
    assert seen == [("inactive", "stopRequested"), ("stopped", "stopRequested")]
    with pytest.raises(RecordingNotFoundError):
        state.get_recording(rec.recording_id)
    assert state.recording(rec.recording_id).stop_reason == "stopRequested"


def test_stopped_recording_cannot_be_stopped_again(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    state.stop_recording(rec.recording_id)
    with pytest.raises(RecordingNotFoundError):
        state.stop_recording(rec.recording_id)


def test_recording_stopped_before_join_never_activates(state: EmulatorState) -> None:
    state.activation_delay = 0.05
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    state.stop_recording(rec.recording_id)
    snapshot = state.recording(rec.recording_id)
    assert [c.state for c in snapshot.history] == ["inactive", "stopped"]


def test_ending_the_call_stops_its_recordings(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    assert wait_until(lambda: state.get_recording(rec.recording_id).state == "active")
    ended = state.end_call(call.server_call_id)
    assert ended.ended
    snapshot = state.recording(rec.recording_id)
    assert snapshot.state == "stopped"
    assert snapshot.stop_reason == "callEnded"


def test_start_on_ended_call_is_refused(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    state.end_call(call.server_call_id)
    with pytest.raises(CallNotFoundError):
        _start(state, call.server_call_id)


def test_start_on_unknown_call_is_refused(state: EmulatorState) -> None:
    with pytest.raises(CallNotFoundError):
        _start(state, "aHR0cHM6Ly91bmtub3du")


def test_second_recording_of_the_same_call_is_refused(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    _start(state, call.server_call_id)
    with pytest.raises(RecordingConflictError):
        _start(state, call.server_call_id)


def test_new_recording_allowed_after_previous_stopped(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    first = _start(state, call.server_call_id)
    state.stop_recording(first.recording_id)
    assert _start(state, call.server_call_id).recording_id != first.recording_id


def test_affinity_participant_must_be_in_the_call(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    with pytest.raises(RequestValidationError):
        _start(
            state,
            call.server_call_id,
            recordingChannelType="unmixed",
            channelAffinity=[{"channel": 0, "participant": {"rawId": BOB}}],
        )


def test_pause_intervals_cover_paused_periods(state: EmulatorState) -> None:
    call = state.create_call([ALICE])
    rec = _start(state, call.server_call_id)
    assert wait_until(lambda: state.get_recording(rec.recording_id).state == "active")
    state.pause_recording(rec.recording_id)
    state.resume_recording(rec.recording_id)
    state.pause_recording(rec.recording_id)
    state.stop_recording(rec.recording_id)
    intervals = state.recording(rec.recording_id).pause_intervals
    assert len(intervals) == 2
    assert all(end is not None and end >= start for start, end in intervals)
