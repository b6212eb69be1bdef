"""The state-callback route accepts only ACS-signed callbacks and records each event once."""

from __future__ import annotations

import copy
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.acs_emulator import AcsEmulator
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.reference import real_state_changed_event
from tests.support.api import eventually, on_recording, start
from tests.support.callback_receiver import Receiver
from tests.support.functions import http_request, invoke, json_body

USER = "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_00000029-aaaa-bbbb-cccc-000000000001"


def post_callback(body: Any, authorization: str | None) -> Any:
    headers = {"authorization": authorization} if authorization else {}
    return invoke(
        "recording_state_callback",
        http_request("POST", "callbacks/recording-state", body=body, headers=headers),
    )


def catalog_of(recording_id: str) -> Any:
    from shared.recording.catalog_table import catalog
    from shared.settings import current_settings

    return catalog(current_settings()).get(recording_id)


def forged_token(emulator: AcsEmulator, **claims: Any) -> str:
    """Right issuer, audience and kid, but signed by a key that is not the emulator's."""
    with urllib.request.urlopen(emulator.jwks_url) as response:  # noqa: S310 - the emulator, over https
        kid = json.loads(response.read())["keys"][0]["kid"]
    now = int(datetime.now(UTC).timestamp())
    body = {"iss": emulator.endpoint, "aud": emulator.resource_id, "iat": now, "exp": now + 300, **claims}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def event() -> dict[str, Any]:
    return real_state_changed_event()


def test_callback_without_a_token_is_401_and_changes_nothing(
    app_settings: Settings, event: dict[str, Any]
) -> None:
    response = post_callback([event], None)
    assert (response.status_code, json_body(response)["error"]["code"]) == (401, "InvalidCallbackToken")
    assert catalog_of(event["data"]["recordingId"]) is None


def test_callback_signed_by_another_key_is_401(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    response = post_callback([event], f"Bearer {forged_token(emulator)}")
    assert response.status_code == 401
    assert catalog_of(event["data"]["recordingId"]) is None


def test_callback_with_an_expired_token_is_401(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = emulator.sign_callback_token(now=past)
    assert post_callback([event], f"Bearer {token}").status_code == 401


def test_callback_for_another_resource_is_401(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    token = emulator.sign_callback_token(audience="00000000-0000-0000-0000-000000000000")
    assert post_callback([event], f"Bearer {token}").status_code == 401


def test_callback_token_valid_for_longer_than_acs_issues_is_401(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    token = emulator.sign_callback_token(lifetime=timedelta(days=365))
    assert post_callback([event], f"Bearer {token}").status_code == 401
    assert catalog_of(event["data"]["recordingId"]) is None


def test_a_token_already_accepted_is_refused_for_another_body(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    token = emulator.sign_callback_token()
    assert post_callback([event], f"Bearer {token}").status_code == 204
    other = {**copy.deepcopy(event), "id": "another-event"}
    assert post_callback([other], f"Bearer {token}").status_code == 401


def test_a_token_whose_callback_failed_is_accepted_on_retry(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    token = emulator.sign_callback_token()
    assert post_callback({"not": "an event"}, f"Bearer {token}").status_code == 400
    assert post_callback([event], f"Bearer {token}").status_code == 204


def test_validly_signed_real_event_is_recorded(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    response = post_callback([event], f"Bearer {emulator.sign_callback_token()}")
    assert response.status_code == 204
    entry = catalog_of(event["data"]["recordingId"])
    assert (entry["state"], entry["serverCallId"]) == ("active", event["data"]["serverCallId"])


def test_duplicate_delivery_is_recorded_once(
    app_settings: Settings, emulator: AcsEmulator, event: dict[str, Any]
) -> None:
    for _ in range(2):
        assert post_callback([event], f"Bearer {emulator.sign_callback_token()}").status_code == 204
    assert len(catalog_of(event["data"]["recordingId"])["stateChanges"]) == 1


def test_malformed_callback_body_is_400_even_when_signed(
    app_settings: Settings, emulator: AcsEmulator
) -> None:
    response = post_callback({"not": "an event"}, f"Bearer {emulator.sign_callback_token()}")
    assert response.status_code == 400


def test_missing_resource_id_refuses_every_callback(
    app_settings: Settings, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]
) -> None:

    monkeypatch.delenv("ACS_RESOURCE_ID")
    reset_worker_caches()
    response = post_callback([event], f"Bearer {emulator.sign_callback_token()}")
    assert response.status_code == 500
    assert "ACS_RESOURCE_ID" in json_body(response)["error"]["message"]


def test_pause_and_resume_callbacks_build_the_state_history(
    app_settings: Settings, emulator: AcsEmulator, receiver: Receiver
) -> None:
    call_id = emulator.create_call(participants=[USER]).server_call_id
    recording_id = json_body(start({"serverCallId": call_id}))["recordingId"]
    eventually(lambda: (catalog_of(recording_id) or {}).get("state") == "active")
    on_recording("pause_recording", "POST", recording_id, "/pause")
    on_recording("resume_recording", "POST", recording_id, "/resume")
    eventually(lambda: len(catalog_of(recording_id)["stateChanges"]) == 3)
    assert [c["state"] for c in catalog_of(recording_id)["stateChanges"]] == ["active", "inactive", "active"]
    assert set(receiver.statuses) == {204}


def test_unreachable_signing_keys_answer_503_so_acs_retries(
    app_settings: Settings, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch, event: dict[str, Any]
) -> None:
    from devtools.ports import free_port

    monkeypatch.setenv("ACS_OPENID_CONFIGURATION_URL", f"https://127.0.0.1:{free_port()}/openid")
    reset_worker_caches()
    response = post_callback([event], f"Bearer {emulator.sign_callback_token()}")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "10")


def test_a_start_failure_reported_before_the_start_is_cataloged_keeps_its_error(
    app_settings: Settings, emulator: AcsEmulator
) -> None:
    from datetime import datetime

    from shared.recording.catalog import StartedRecording
    from shared.recording.catalog_table import catalog
    from shared.recording.options import parse_start_request
    from shared.settings import current_settings

    failed = copy.deepcopy(real_state_changed_event())
    failed["type"] = "Microsoft.Communication.StartRecordingFailed"
    failed["data"]["resultInformation"] = {"code": 400, "subCode": 8583, "message": "Recording failed."}
    assert post_callback([failed], f"Bearer {emulator.sign_callback_token()}").status_code == 204
    recording_id = failed["data"]["recordingId"]
    options = parse_start_request({"serverCallId": failed["data"]["serverCallId"]})
    catalog(current_settings()).record_started(
        StartedRecording(recording_id, "inactive", "azureCommunicationServices", options, datetime.now(UTC))
    )
    entry = catalog_of(recording_id)
    assert entry["lastError"]["subCode"] == 8583
    assert entry["options"] == {"serverCallId": failed["data"]["serverCallId"]}
