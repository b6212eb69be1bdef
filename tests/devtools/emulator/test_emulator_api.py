"""The recording REST API over HTTPS, driven by the real SDK (and raw signed requests)."""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
import requests
from azure.communication.callautomation import (
    CallAutomationClient,
    ChannelAffinity,
    CommunicationUserIdentifier,
    RecordingProperties,
    RecordingState,
)
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.hmac_auth import sign_headers
from devtools.acs_emulator.http_types import Request, Response
from devtools.acs_emulator.recording_api import SUPPORTED_API_VERSIONS

from .conftest import ALICE, API, BOB, SignedClient, load_reference, wait_until


def _rid(properties: RecordingProperties) -> str:
    assert properties.recording_id is not None
    return properties.recording_id


def _active(client: CallAutomationClient, recording_id: str) -> bool:
    return client.get_recording_properties(recording_id).recording_state == RecordingState.ACTIVE


def test_start_returns_inactive_then_becomes_active(client: CallAutomationClient, call: Call) -> None:
    started = client.start_recording(server_call_id=call.server_call_id)
    assert started.recording_state == RecordingState.INACTIVE
    assert started.recording_kind == "azureCommunicationServices"
    assert wait_until(lambda: _active(client, _rid(started)))


def test_pause_and_resume_change_the_state(client: CallAutomationClient, call: Call) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id))
    assert wait_until(lambda: _active(client, recording_id))
    client.pause_recording(recording_id)
    assert client.get_recording_properties(recording_id).recording_state == RecordingState.INACTIVE
    client.resume_recording(recording_id)
    assert client.get_recording_properties(recording_id).recording_state == RecordingState.ACTIVE


def test_pause_resume_and_stop_answer_202_202_204(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id))
    emulator.clear_requests()
    client.pause_recording(recording_id)
    client.resume_recording(recording_id)
    client.stop_recording(recording_id)
    answered = [(r.method, r.target.split("?")[0].rsplit(":", 1)[-1], r.status) for r in emulator.requests]
    assert [status for *_, status in answered] == [202, 202, 204]
    assert answered[0][1] == "pause"


def test_pause_on_start_keeps_recording_inactive(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id, pause_on_start=True))
    assert wait_until(lambda: emulator.recording(recording_id).activated_at is not None)
    assert client.get_recording_properties(recording_id).recording_state == RecordingState.INACTIVE
    client.resume_recording(recording_id)
    assert _active(client, recording_id)


def test_get_after_stop_is_404_with_code_8522(client: CallAutomationClient, call: Call) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id))
    client.stop_recording(recording_id)
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_recording_properties(recording_id)
    assert info.value.error is not None
    assert info.value.error.code == "8522"


@pytest.mark.parametrize("operation", ["stop_recording", "pause_recording", "resume_recording"])
def test_operations_on_stopped_recording_are_404(
    client: CallAutomationClient, call: Call, operation: str
) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id))
    client.stop_recording(recording_id)
    with pytest.raises(ResourceNotFoundError):
        getattr(client, operation)(recording_id)


def test_not_found_body_matches_the_capture(signed: SignedClient) -> None:
    captured = load_reference("errors.real.json")["recording_not_found_after_stop"]
    response = signed.send("GET", f"/calling/recordings/unknownid?{API}")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == captured["headers"]["Content-Type"]
    expected = captured["body"]["error"] | {"target": "/calling/recordings/unknownid"}
    assert response.json() == {"error": expected}


def test_wrong_access_key_is_client_authentication_error(emulator: AcsEmulator, call: Call) -> None:
    wrong = CallAutomationClient.from_connection_string(
        emulator.connection_string.replace(emulator.access_key, "d3Jvbmcta2V5"),
        connection_verify=emulator.ca_pem_path,
    )
    with pytest.raises(ClientAuthenticationError) as info:
        wrong.start_recording(server_call_id=call.server_call_id)
    assert info.value.status_code == 401


def test_unauthenticated_request_gets_denied_body(signed: SignedClient) -> None:
    response = signed.send("GET", f"/calling/recordings/x?{API}", sign=False)
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "Denied", "message": "Denied by the resource provider."}}


def test_bearer_token_is_not_supported(signed: SignedClient) -> None:
    response = signed.send(
        "GET",
        f"/calling/recordings/x?{API}",
        sign=False,
        headers={"Authorization": "Bearer eyJhbGciOi.e30.x"},
    )
    assert response.status_code == 401


def test_body_changed_after_signing_is_rejected(signed: SignedClient, call: Call) -> None:
    body = json.dumps({"callLocator": {"serverCallId": call.server_call_id}}).encode()
    headers = sign_headers(
        method="POST",
        path_and_query=f"/calling/recordings?{API}",
        host=signed.host,
        body=b"{}",
        access_key=signed.emulator.access_key,
    )
    headers["Content-Type"] = "application/json"
    response = signed.session.post(
        f"{signed.emulator.endpoint}/calling/recordings?{API}", data=body, headers=headers
    )
    assert response.status_code == 401


def test_missing_api_version_is_400(signed: SignedClient) -> None:
    response = signed.send("GET", "/calling/recordings/x")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ApiVersionUnspecified"


def test_unsupported_api_version_is_400(signed: SignedClient) -> None:
    response = signed.send("GET", "/calling/recordings/x?api-version=2020-01-01")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UnsupportedApiVersion"


def test_older_listed_api_version_is_accepted(signed: SignedClient) -> None:
    response = signed.send("GET", "/calling/recordings/x?api-version=2025-05-15")
    assert response.status_code == 404


def test_responses_carry_the_captured_service_headers(signed: SignedClient) -> None:
    response = signed.send("GET", f"/calling/recordings/x?{API}")
    assert response.headers["api-supported-versions"] == SUPPORTED_API_VERSIONS
    assert response.headers["Server"] == "Kestrel"
    assert "MS-CV" in response.headers
    assert response.headers["Content-Length"] == str(len(response.content))


def test_captured_start_request_is_accepted(emulator: AcsEmulator, signed: SignedClient) -> None:
    captured = load_reference("start-recording.request-response.real-2026-03-12.json")
    body = captured["request"]["body"]
    call = emulator.create_call(participants=["testId"], server_call_id=body["callLocator"]["serverCallId"])
    body = body | {"recordingStateCallbackUri": "https://example.invalid/api/servicebuscallback/events"}
    response = signed.send(
        "POST",
        f"/calling/recordings?{API}",
        body,
        headers={
            "Repeatability-Request-ID": str(uuid.uuid4()),
            "Repeatability-First-Sent": format_datetime(datetime.now(UTC), usegmt=True),
        },
    )
    assert response.status_code == captured["response"]["status"]
    assert response.json()["recordingState"] == "inactive"
    assert response.headers["Repeatability-Result"] == "accepted"
    assert emulator.recording(response.json()["recordingId"]).server_call_id == call.server_call_id


def test_repeated_request_id_returns_the_same_recording(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    headers = {"Repeatability-Request-ID": str(uuid.uuid4())}
    first = client.start_recording(server_call_id=call.server_call_id, headers=dict(headers))
    second = client.start_recording(server_call_id=call.server_call_id, headers=dict(headers))
    assert first.recording_id == second.recording_id
    assert sum(r.server_call_id == call.server_call_id for r in emulator.recordings()) == 1
    assert emulator.requests[-1].status == 200


def test_repeatability_result_header_is_accepted(signed: SignedClient, call: Call) -> None:
    headers = {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": format_datetime(datetime.now(UTC), usegmt=True),
    }
    body = {"callLocator": {"serverCallId": call.server_call_id, "kind": "serverCallLocator"}}
    first = signed.send("POST", f"/calling/recordings?{API}", body, headers=headers)
    again = signed.send("POST", f"/calling/recordings?{API}", body, headers=headers)
    assert first.headers["Repeatability-Result"] == again.headers["Repeatability-Result"] == "accepted"
    assert first.json() == again.json()


def test_request_id_without_first_sent_is_400(signed: SignedClient, call: Call) -> None:
    body = {"callLocator": {"serverCallId": call.server_call_id}}
    response = signed.send(
        "POST", f"/calling/recordings?{API}", body, headers={"Repeatability-Request-ID": str(uuid.uuid4())}
    )
    assert response.status_code == 400


def test_start_by_call_connection_id(client: CallAutomationClient, call: Call, emulator: AcsEmulator) -> None:
    recording_id = _rid(client.start_recording(call_connection_id=call.call_connection_id))
    assert emulator.recording(recording_id).server_call_id == call.server_call_id


def test_start_by_group_call_id(client: CallAutomationClient, call: Call, emulator: AcsEmulator) -> None:
    recording_id = _rid(client.start_recording(group_call_id=call.group_call_id))
    assert emulator.recording(recording_id).server_call_id == call.server_call_id


def test_start_for_unknown_call_fails(client: CallAutomationClient) -> None:
    with pytest.raises(ResourceNotFoundError):
        client.start_recording(server_call_id="aHR0cHM6Ly91bmtub3duLWNhbGw=")


def test_start_for_ended_call_fails(client: CallAutomationClient, call: Call, emulator: AcsEmulator) -> None:
    emulator.end_call(call.server_call_id)
    with pytest.raises(ResourceNotFoundError):
        client.start_recording(server_call_id=call.server_call_id)


def test_end_call_stops_active_recording(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    recording_id = _rid(client.start_recording(server_call_id=call.server_call_id))
    emulator.end_call(call.server_call_id)
    with pytest.raises(ResourceNotFoundError):
        client.get_recording_properties(recording_id)
    assert emulator.recording(recording_id).stop_reason == "callEnded"


def test_invalid_combination_is_400_with_details(client: CallAutomationClient, call: Call) -> None:
    with pytest.raises(HttpResponseError) as info:
        client.start_recording(
            server_call_id=call.server_call_id, recording_channel_type="unmixed", recording_format_type="mp3"
        )
    assert info.value.status_code == 400
    assert "unmixed" in str(info.value)


def test_unmixed_with_affinity_of_call_participants_is_accepted(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    recording_id = _rid(
        client.start_recording(
            server_call_id=call.server_call_id,
            recording_content_type="audio",
            recording_channel_type="unmixed",
            recording_format_type="wav",
            audio_channel_participant_ordering=[CommunicationUserIdentifier(BOB)],
            channel_affinity=[ChannelAffinity(CommunicationUserIdentifier(ALICE), 0)],
        )
    )
    snapshot = emulator.recording(recording_id)
    assert snapshot.options["channelAffinity"][0]["channel"] == 0
    assert (snapshot.content_type, snapshot.channel_type, snapshot.format_type) == ("audio", "unmixed", "wav")


def test_affinity_participant_outside_the_call_is_400(client: CallAutomationClient, call: Call) -> None:
    with pytest.raises(HttpResponseError) as info:
        client.start_recording(
            server_call_id=call.server_call_id,
            recording_channel_type="unmixed",
            channel_affinity=[ChannelAffinity(CommunicationUserIdentifier("8:acs:stranger"), 1)],
        )
    assert info.value.status_code == 400


def test_malformed_json_is_400(signed: SignedClient) -> None:
    response = signed.send("POST", f"/calling/recordings?{API}", b"{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequest"


def test_unknown_property_is_400_naming_it(signed: SignedClient, call: Call) -> None:
    body = {"callLocator": {"serverCallId": call.server_call_id}, "recordingFormat": "wav"}
    response = signed.send("POST", f"/calling/recordings?{API}", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["target"] == "recordingFormat"


def test_non_json_content_type_is_415(signed: SignedClient) -> None:
    response = signed.send(
        "POST", f"/calling/recordings?{API}", b"a=b", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_unknown_path_is_404_and_wrong_method_is_405(signed: SignedClient) -> None:
    assert signed.send("GET", f"/calling/nothing?{API}").status_code == 404
    response = signed.send("PUT", f"/calling/recordings/x?{API}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_internal_error_is_500_with_code_9999(emulator: AcsEmulator, http: requests.Session) -> None:
    def broken(request: Request, match: re.Match[str]) -> Response:
        raise RuntimeError("bug")

    emulator.add_route("GET", r"/test-only/broken", broken, auth="none")
    response = http.get(f"{emulator.endpoint}/test-only/broken")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "9999", "message": "Unknown internal server error."}}


def test_connection_is_kept_alive_across_requests(emulator: AcsEmulator) -> None:
    host, port = emulator.endpoint.removeprefix("https://").rsplit(":", 1)
    tls = ssl.create_default_context(cafile=emulator.ca_pem_path)
    connection = http.client.HTTPSConnection(host, int(port), context=tls, timeout=5)
    try:
        sockets = []
        for recording_id in ("x", "y"):
            target = f"/calling/recordings/{recording_id}?{API}"
            headers = sign_headers(
                method="GET",
                path_and_query=target,
                host=f"{host}:{port}",
                body=b"",
                access_key=emulator.access_key,
            )
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            assert response.status == 404
            assert len(response.read()) == int(response.getheader("Content-Length") or -1)
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1]
    finally:
        connection.close()


def test_malformed_http_gets_a_json_error(emulator: AcsEmulator) -> None:
    host, port = emulator.endpoint.removeprefix("https://").rsplit(":", 1)
    tls = ssl.create_default_context(cafile=emulator.ca_pem_path)
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        tls.wrap_socket(raw, server_hostname=host) as s,
    ):
        s.sendall(b"NONSENSE\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"error"' in answer


def test_unsupported_method_gets_a_json_error(signed: SignedClient) -> None:
    response = signed.send("OPTIONS", f"/calling/recordings?{API}")
    assert response.status_code == 501
    assert "error" in response.json()


def test_requests_log_redacts_signatures(
    client: CallAutomationClient, call: Call, emulator: AcsEmulator
) -> None:
    emulator.clear_requests()
    client.start_recording(server_call_id=call.server_call_id)
    authorization = emulator.requests[0].headers["authorization"]
    assert authorization.endswith("Signature=<redacted>")
    assert emulator.requests[0].json()["callLocator"]["serverCallId"] == call.server_call_id
