"""The control routes, called through the app's own indexing, against the emulator over HTTPS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from devtools.acs_emulator import AcsEmulator
from shared.recording.options import VALID_COMBINATIONS
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.seed_examples import SEED_EXAMPLES, USER
from tests.support.api import eventually, on_recording, start
from tests.support.callback_receiver import Receiver
from tests.support.functions import http_request, invoke, json_body
from tests.unit.recording.test_options import INVALID_BODIES

OTHER = "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_00000029-aaaa-bbbb-cccc-000000000002"


def start_requests(emulator: AcsEmulator) -> list[dict[str, Any]]:
    return [
        json.loads(r.body)
        for r in emulator.requests
        if r.method == "POST" and r.path.startswith("/calling/recordings?")
    ]


@pytest.fixture
def call_id(emulator: AcsEmulator) -> str:
    return str(emulator.create_call(participants=[USER, OTHER]).server_call_id)


@pytest.mark.parametrize("example", SEED_EXAMPLES, ids=lambda e: e["name"])
def test_seed_example_reaches_the_service_as_the_spec_says(
    app_settings: Settings, emulator: AcsEmulator, call_id: str, example: dict[str, Any]
) -> None:
    response = start({**example["request"], "serverCallId": call_id})
    assert response.status_code == 201, response.get_body()
    sent = start_requests(emulator)[-1]
    assert sent["callLocator"] == {"serverCallId": call_id, "kind": "serverCallLocator"}
    assert {key: sent[key] for key in example["wire"]} == example["wire"]


@pytest.mark.parametrize("combination", VALID_COMBINATIONS, ids="/".join)
@pytest.mark.parametrize("pause_on_start", [False, True])
def test_every_valid_combination_reaches_the_service_exactly(
    app_settings: Settings,
    emulator: AcsEmulator,
    call_id: str,
    combination: tuple[str, str, str],
    pause_on_start: bool,
) -> None:
    content, channel, fmt = combination
    body = {
        "serverCallId": call_id,
        "content": content,
        "channel": channel,
        "format": fmt,
        "pauseOnStart": pause_on_start,
    }
    assert start(body).status_code == 201
    sent = start_requests(emulator)[-1]
    assert (
        sent["recordingContentType"],
        sent["recordingChannelType"],
        sent["recordingFormatType"],
        sent["pauseOnStart"],
    ) == (content, channel, fmt, pause_on_start)


@pytest.mark.parametrize(("name", "body", "target"), INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES])
def test_invalid_start_is_400_and_the_service_receives_nothing(
    app_settings: Settings, emulator: AcsEmulator, name: str, body: Any, target: str | None
) -> None:
    before = len(emulator.requests)
    response = start(body)
    assert response.status_code == 400
    assert json_body(response)["error"].get("target") == target
    assert response.headers["x-ms-error-code"] == json_body(response)["error"]["code"]
    assert len(emulator.requests) == before


def test_start_answers_201_with_location_and_inactive_state(app_settings: Settings, call_id: str) -> None:
    response = start({"serverCallId": call_id})
    body = json_body(response)
    assert response.status_code == 201
    assert response.headers["Location"] == f"/api/recordings/{body['recordingId']}"
    assert (body["state"], body["kind"]) == ("inactive", "azureCommunicationServices")


def test_recording_becomes_active_and_the_signed_callback_reaches_the_catalog(
    app_settings: Settings, call_id: str, receiver: Receiver
) -> None:
    recording_id = json_body(start({"serverCallId": call_id}))["recordingId"]

    def catalog_state() -> Any:
        return json_body(on_recording("get_recording", "GET", recording_id))["catalog"]["state"]

    eventually(lambda: catalog_state() == "active")
    eventually(lambda: 204 in receiver.statuses)
    body = json_body(on_recording("get_recording", "GET", recording_id))
    assert body["state"] == "active"
    assert [c["state"] for c in body["catalog"]["stateChanges"]] == ["active"]


def test_pause_on_start_keeps_the_recording_inactive(app_settings: Settings, call_id: str) -> None:
    recording_id = json_body(start({"serverCallId": call_id, "pauseOnStart": True}))["recordingId"]
    time.sleep(0.3)
    assert json_body(on_recording("get_recording", "GET", recording_id))["state"] == "inactive"


def test_pause_and_resume_answer_202_and_change_the_live_state(app_settings: Settings, call_id: str) -> None:
    recording_id = json_body(start({"serverCallId": call_id}))["recordingId"]
    eventually(lambda: json_body(on_recording("get_recording", "GET", recording_id))["state"] == "active")
    assert on_recording("pause_recording", "POST", recording_id, "/pause").status_code == 202
    assert json_body(on_recording("get_recording", "GET", recording_id))["state"] == "inactive"
    assert on_recording("resume_recording", "POST", recording_id, "/resume").status_code == 202
    assert json_body(on_recording("get_recording", "GET", recording_id))["state"] == "active"


def test_stop_answers_204_and_the_recording_is_then_no_longer_live(
    app_settings: Settings, call_id: str
) -> None:
    recording_id = json_body(start({"serverCallId": call_id}))["recordingId"]
    assert on_recording("stop_recording", "DELETE", recording_id).status_code == 204
    stopped = json_body(on_recording("get_recording", "GET", recording_id))
    assert (stopped["live"], stopped["state"]) == (False, None)
    assert stopped["catalog"]["recordingId"] == recording_id


@pytest.mark.parametrize(
    ("name", "method", "suffix"),
    [
        ("pause_recording", "POST", "/pause"),
        ("resume_recording", "POST", "/resume"),
        ("stop_recording", "DELETE", ""),
    ],
)
def test_acting_on_a_stopped_recording_is_409_recording_stopped_not_a_404(
    app_settings: Settings, call_id: str, name: str, method: str, suffix: str
) -> None:
    # issue 24: pausing a stopped recording was 404 "Recording not found" while GET answered live: false
    recording_id = json_body(start({"serverCallId": call_id}))["recordingId"]
    on_recording("stop_recording", "DELETE", recording_id)
    response = on_recording(name, method, recording_id, suffix)
    assert (response.status_code, json_body(response)["error"]["code"]) == (409, "RecordingStopped")


def test_starting_on_an_unknown_call_is_404_call_not_found(app_settings: Settings) -> None:
    # issue 24: an unknown call was answered RecordingNotFound
    response = start({"serverCallId": "aHR0cHM6Ly9ub3QtYS1jYWxs"})
    error = json_body(response)["error"]
    assert (response.status_code, error["code"], error["target"]) == (404, "CallNotFound", "serverCallId")


@pytest.mark.parametrize(
    ("name", "method", "suffix"),
    [
        ("get_recording", "GET", ""),
        ("pause_recording", "POST", "/pause"),
        ("resume_recording", "POST", "/resume"),
        ("stop_recording", "DELETE", ""),
    ],
)
def test_unknown_recording_is_404_for_every_operation(
    app_settings: Settings, name: str, method: str, suffix: str
) -> None:
    unknown = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMDAwMDAwMC0wMDAwIn0"
    response = on_recording(name, method, unknown, suffix)
    assert (response.status_code, json_body(response)["error"]["code"]) == (404, "RecordingNotFound")


def test_malformed_recording_id_is_400_before_any_request(
    app_settings: Settings, emulator: AcsEmulator
) -> None:
    before = len(emulator.requests)
    response = on_recording("get_recording", "GET", "../../admin")
    assert (response.status_code, len(emulator.requests)) == (400, before)


def test_list_by_server_call_id_shows_the_calls_recordings(app_settings: Settings, call_id: str) -> None:
    first = json_body(start({"serverCallId": call_id}))["recordingId"]
    listing = invoke("list_recordings", http_request("GET", "recordings", params={"serverCallId": call_id}))
    assert listing.status_code == 200
    assert [r["recordingId"] for r in json_body(listing)["recordings"]] == [first]


def test_list_without_a_filter_lists_the_last_30_days(app_settings: Settings, call_id: str) -> None:
    first = json_body(start({"serverCallId": call_id}))["recordingId"]
    listing = json_body(invoke("list_recordings", http_request("GET", "recordings")))
    assert [r["recordingId"] for r in listing["recordings"]] == [first]
    assert listing["query"]["by"] == "time"


def test_malformed_json_is_400(app_settings: Settings) -> None:
    response = invoke("start_recording", http_request("POST", "recordings", body=b"{not json"))
    assert (response.status_code, json_body(response)["error"]["code"]) == (400, "InvalidJson")


def test_body_over_64_kib_is_413(app_settings: Settings) -> None:
    huge = json.dumps({"serverCallId": "x" * (65 * 1024)})
    assert invoke("start_recording", http_request("POST", "recordings", body=huge)).status_code == 413


def test_wrong_access_key_is_502_here_and_401_at_the_service(
    app_settings: Settings, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch, call_id: str
) -> None:

    wrong = emulator.connection_string.split("accesskey=")[0] + "accesskey=d3Jvbmcta2V5LXdyb25nLWtleQ=="
    monkeypatch.setenv("ACS_CONNECTION_STRING", wrong)
    monkeypatch.delenv("ACS_ENDPOINT", raising=False)  # the key path, also in the identity run
    reset_worker_caches()
    response = start({"serverCallId": call_id})
    assert (response.status_code, json_body(response)["error"]["code"]) == (
        502,
        "UpstreamAuthenticationFailed",
    )
    assert emulator.requests[-1].status == 401
    assert "d3Jvbmcta2V5" not in response.get_body().decode()


def test_missing_setting_is_a_configuration_error_naming_it(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:

    for name in ("ACS_CONNECTION_STRING", "ACS_ENDPOINT"):  # neither key nor identity
        monkeypatch.delenv(name, raising=False)
    reset_worker_caches()
    response = start({"serverCallId": "x"})
    assert response.status_code == 500
    assert "ACS_CONNECTION_STRING" in json_body(response)["error"]["message"]


def test_json_body_sent_without_a_json_content_type_is_still_accepted(
    app_settings: Settings, call_id: str
) -> None:
    request = http_request(
        "POST",
        "recordings",
        body={"serverCallId": call_id},
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert invoke("start_recording", request).status_code == 201


def test_function_key_in_the_default_callback_url_is_never_returned_or_cataloged(
    app_settings: Settings, call_id: str
) -> None:
    key = app_settings.recording_state_callback_url.split("code=")[1]  # type: ignore[union-attr]
    started = start({"serverCallId": call_id})
    recording_id = json_body(started)["recordingId"]
    shown = on_recording("get_recording", "GET", recording_id).get_body().decode()
    listed = invoke("list_recordings", http_request("GET", "recordings", params={"serverCallId": call_id}))
    for body in (started.get_body().decode(), shown, listed.get_body().decode()):
        assert key not in body
