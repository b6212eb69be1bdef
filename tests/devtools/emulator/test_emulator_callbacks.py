"""RecordingStateChanged callbacks: shape, signed JWT, ordering, retries and the loopback rule."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.webhooks import loopback_address

from .conftest import CallbackReceiver, load_reference, wait_until


def _start(client: CallAutomationClient, call: Call, url: str, *, pause_on_start: bool = False) -> str:
    started = client.start_recording(
        server_call_id=call.server_call_id, recording_state_callback_url=url, pause_on_start=pause_on_start
    )
    return str(started.recording_id)


def test_state_callback_carries_a_jwt_that_verifies_via_openid_discovery(
    client: CallAutomationClient,
    call: Call,
    emulator: AcsEmulator,
    callback_receiver: CallbackReceiver,
    http: requests.Session,
) -> None:
    _start(client, call, callback_receiver.url)
    received = callback_receiver.wait_for(1)[0]
    scheme, token = received.headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"

    configuration = http.get(emulator.openid_configuration_url).json()
    tls = ssl.create_default_context(cafile=emulator.ca_pem_path)
    signing_key = jwt.PyJWKClient(configuration["jwks_uri"], ssl_context=tls).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=emulator.resource_id,
        issuer=configuration["issuer"],
        options={"require": ["exp", "iat", "nbf", "iss", "aud"]},
    )
    assert claims["exp"] - claims["iat"] == 300


def test_jwt_for_another_audience_does_not_verify(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    _start(client, call, callback_receiver.url)
    token = callback_receiver.wait_for(1)[0].headers["Authorization"].split(" ", 1)[1]
    key = jwt.PyJWKClient(
        emulator.jwks_url, ssl_context=ssl.create_default_context(cafile=emulator.ca_pem_path)
    )
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            token, key.get_signing_key_from_jwt(token).key, algorithms=["RS256"], audience="other-resource"
        )


def test_callback_body_is_an_array_with_one_cloud_event_shaped_like_the_capture(
    client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    captured = load_reference("recording-state-changed.cloudevent.real.json")["event"]
    recording_id = _start(client, call, callback_receiver.url)
    received = callback_receiver.wait_for(1)[0]
    events = json.loads(received.body)
    assert isinstance(events, list)
    assert len(events) == 1
    event = events[0]
    assert list(event) == list(captured)
    assert list(event["data"]) == list(captured["data"])
    assert event["type"] == captured["type"] == event["data"]["publicEventType"]
    assert (
        event["source"]
        == event["subject"]
        == f"calling/recordings/{call.server_call_id}/{recording_id}/RecordingStateChanged"
    )
    assert event["data"]["state"] == "active"
    assert event["data"]["resultInformation"] == captured["data"]["resultInformation"]
    assert event["data"]["serverCallId"] == call.server_call_id
    assert len(event["time"]) == len(captured["time"])
    assert received.path == "/api/callbacks"


def test_callbacks_follow_state_changes_in_order(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    recording_id = _start(client, call, callback_receiver.url)
    assert wait_until(lambda: emulator.recording(recording_id).state == "active")
    client.pause_recording(recording_id)
    client.resume_recording(recording_id)
    client.stop_recording(recording_id)
    received = callback_receiver.wait_for(4)
    states = [json.loads(r.body)[0]["data"]["state"] for r in received]
    assert states == ["active", "inactive", "active", "inactive"]


def test_pause_on_start_reports_inactive_when_the_bot_joins(
    client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    _start(client, call, callback_receiver.url, pause_on_start=True)
    assert json.loads(callback_receiver.wait_for(1)[0].body)[0]["data"]["state"] == "inactive"


def test_failed_delivery_is_retried(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.statuses.extend([503])
    recording_id = _start(client, call, callback_receiver.url)
    callback_receiver.wait_for(2)
    assert emulator.wait_for_callbacks(5)
    attempts = [d for d in emulator.callback_deliveries if d.recording_id == recording_id]
    assert [(d.attempt, d.outcome, d.status) for d in attempts] == [(1, "failed", 503), (2, "delivered", 200)]


def test_client_error_is_not_retried(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator, callback_receiver: CallbackReceiver
) -> None:
    callback_receiver.statuses.extend([401])
    recording_id = _start(client, call, callback_receiver.url)
    callback_receiver.wait_for(1)
    assert emulator.wait_for_callbacks(5)
    attempts = [d for d in emulator.callback_deliveries if d.recording_id == recording_id]
    assert [(d.outcome, d.status) for d in attempts] == [("failed", 401)]


def test_callback_to_localhost_name_is_delivered(
    client: CallAutomationClient, call: Call, callback_receiver: CallbackReceiver
) -> None:
    _start(client, call, callback_receiver.url.replace("127.0.0.1", "localhost"))
    assert callback_receiver.wait_for(1)


def test_callback_to_non_loopback_host_is_skipped(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    recording_id = _start(client, call, "https://contoso.example.com/api/callbacks?secret=1")
    assert wait_until(lambda: any(d.recording_id == recording_id for d in emulator.callback_deliveries))
    assert emulator.wait_for_callbacks(5)
    attempts = [d for d in emulator.callback_deliveries if d.recording_id == recording_id]
    assert [(d.outcome, d.status, d.headers) for d in attempts] == [("skipped", None, {})]
    assert "not loopback" in (attempts[0].error or "")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.8.9.10", "127.8.9.10"),
        ("::1", "::1"),
        ("10.0.0.1", None),
        ("0.0.0.0", None),
        ("169.254.169.254", None),
        ("example.com", None),
        ("localhost.example.com", None),
    ],
)
def test_only_loopback_addresses_are_deliverable(host: str, expected: str | None) -> None:
    assert loopback_address(host, 443) == expected


def test_openid_configuration_and_keys_need_no_hmac(emulator: AcsEmulator, http: requests.Session) -> None:
    configuration = http.get(emulator.openid_configuration_url)
    assert configuration.status_code == 200
    assert configuration.json()["issuer"] == emulator.endpoint
    keys = http.get(configuration.json()["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["alg"] == "RS256"
    assert keys[0]["kid"]


def test_sign_callback_token_verifies_and_can_be_made_invalid(emulator: AcsEmulator) -> None:
    key = jwt.PyJWKClient(
        emulator.jwks_url, ssl_context=ssl.create_default_context(cafile=emulator.ca_pem_path)
    )
    token = emulator.sign_callback_token()
    public = key.get_signing_key_from_jwt(token).key
    claims = jwt.decode(
        token, public, algorithms=["RS256"], audience=emulator.resource_id, issuer=emulator.endpoint
    )
    assert claims["aud"] == emulator.resource_id
    expired = emulator.sign_callback_token(now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(expired, public, algorithms=["RS256"], audience=emulator.resource_id)
    other = emulator.sign_callback_token(audience="00000000-0000-0000-0000-000000000000")
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(other, public, algorithms=["RS256"], audience=emulator.resource_id)
