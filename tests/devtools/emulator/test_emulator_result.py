"""The preview result route (`GET /calling/recordings/{id}/result`) as captured: its shape, the
SessionStillOngoing window after a stop, 404 for an unknown id, and the same auth as every route."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.events import build_file_status_event
from devtools.acs_emulator.result_api import NO_EXPIRATION, STILL_ONGOING

from .conftest import SignedClient, load_reference, start_recording, wait_until

PREVIEW = "api-version=2025-08-15-preview"
CAPTURED = load_reference("recording-result.get.real-2025-08-15-preview.json")


def result_target(recording_id: str, query: str = PREVIEW) -> str:
    return f"/calling/recordings/{recording_id}/result?{query}"


def stopped(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> str:
    recording_id = start_recording(client, call)
    assert wait_until(lambda: emulator.recording(recording_id).state == "active")
    emulator.stop_recording(recording_id, duration_s=2.0)
    return recording_id


@pytest.mark.usefixtures("result_still_ongoing")
def test_shortly_after_the_stop_the_result_has_the_captured_shape_and_says_still_ongoing(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, signed: SignedClient
) -> None:
    recording_id = stopped(emulator, client, call)
    response = signed.send("GET", result_target(recording_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    captured = CAPTURED["response"]["body"]
    assert list(body) == list(captured)
    assert list(body["recordingStorageInfo"]["recordingChunks"][0]) == list(
        captured["recordingStorageInfo"]["recordingChunks"][0]
    )
    assert (body["sessionEndReason"], body["recordingExpirationTime"], body["errors"]) == (
        STILL_ONGOING,
        captured["recordingExpirationTime"],
        [],
    )
    assert body["recordingId"] == recording_id
    assert response.headers["Content-Type"] == CAPTURED["response"]["headers"]["Content-Type"]


@pytest.mark.usefixtures("result_settled")
def test_once_settled_the_result_lists_what_the_file_event_lists(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, signed: SignedClient
) -> None:
    recording_id = stopped(emulator, client, call)
    event = build_file_status_event(emulator.recording_files(recording_id), emulator.event_topic)
    body = signed.send("GET", result_target(recording_id)).json()
    assert body["recordingStorageInfo"] == event["data"]["recordingStorageInfo"]
    for name in ("recordingStartTime", "recordingDurationMs", "sessionEndReason"):
        assert body[name] == event["data"][name]
    assert body["sessionEndReason"] != STILL_ONGOING
    assert body["recordingExpirationTime"] != NO_EXPIRATION


def test_the_window_counts_from_the_stop(
    emulator: AcsEmulator,
    client: CallAutomationClient,
    call: Call,
    signed: SignedClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(emulator, "result_pending_seconds", 0.3)
    recording_id = stopped(emulator, client, call)
    assert signed.send("GET", result_target(recording_id)).json()["sessionEndReason"] == STILL_ONGOING
    assert wait_until(
        lambda: signed.send("GET", result_target(recording_id)).json()["sessionEndReason"] != STILL_ONGOING,
        timeout=5,
        interval=0.1,
    )


@pytest.mark.usefixtures("result_settled")
def test_a_live_recording_has_no_chunks_yet(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, signed: SignedClient
) -> None:
    recording_id = start_recording(client, call)
    body = signed.send("GET", result_target(recording_id)).json()
    assert (body["sessionEndReason"], body["recordingStorageInfo"]["recordingChunks"]) == (STILL_ONGOING, [])


def test_an_unknown_recording_is_the_captured_404(signed: SignedClient) -> None:
    response = signed.send("GET", result_target("bm90LWEtcmVjb3JkaW5n"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "8522"


def test_the_route_wants_the_same_signature_as_every_route(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, signed: SignedClient
) -> None:
    recording_id = stopped(emulator, client, call)
    other_key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    assert signed.send("GET", result_target(recording_id), sign=False).status_code == 401
    assert signed.send("GET", result_target(recording_id), access_key=other_key).status_code == 401
    token = emulator.entra.token()
    bearer = signed.send(
        "GET", result_target(recording_id), sign=False, headers={"Authorization": f"Bearer {token}"}
    )
    assert bearer.status_code == 200


def test_only_the_preview_versions_serve_the_route(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call, signed: SignedClient
) -> None:
    recording_id = stopped(emulator, client, call)
    stable, older_preview = "api-version=2026-03-12", "api-version=2024-09-01-preview"
    assert signed.send("GET", result_target(recording_id, stable)).status_code == 400
    assert signed.send("GET", result_target(recording_id, older_preview)).status_code == 200
