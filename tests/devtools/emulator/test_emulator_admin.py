"""The /admin test-control API and the standalone entry point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from urllib.parse import quote

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient, RecordingProperties

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.admin_api import require_loopback_peer
from devtools.acs_emulator.http_types import ApiError, Request

from .conftest import ALICE, BOB, REPO_ROOT


def _rid(properties: RecordingProperties) -> str:
    assert properties.recording_id is not None
    return properties.recording_id


def test_admin_creates_a_call_the_sdk_can_record(
    emulator: AcsEmulator, http: requests.Session, client: CallAutomationClient
) -> None:
    response = http.post(f"{emulator.admin_url}/calls", json={"participants": [ALICE, BOB]})
    assert response.status_code == 201
    assert response.headers["X-Acs-Emulator-Admin"] == "1"
    call = response.json()
    assert call["participants"] == [ALICE, BOB]
    recording_id = _rid(client.start_recording(server_call_id=call["serverCallId"]))
    listed = http.get(f"{emulator.admin_url}/recordings").json()
    assert recording_id in [r["recordingId"] for r in listed]


def test_admin_end_call_stops_the_recording(
    emulator: AcsEmulator, http: requests.Session, client: CallAutomationClient
) -> None:
    call = http.post(f"{emulator.admin_url}/calls", json={"participants": [ALICE]}).json()
    recording_id = _rid(client.start_recording(server_call_id=call["serverCallId"]))
    ended = http.delete(f"{emulator.admin_url}/calls/{quote(call['serverCallId'], safe='')}")
    assert ended.status_code == 200
    assert ended.json()["endedAt"] is not None
    recording = http.get(f"{emulator.admin_url}/recordings/{recording_id}").json()
    assert recording["state"] == "stopped"
    assert recording["stopReason"] == "callEnded"
    assert [h["state"] for h in recording["history"]][-1] == "stopped"


def test_admin_rejects_unknown_call_fields(emulator: AcsEmulator, http: requests.Session) -> None:
    response = http.post(f"{emulator.admin_url}/calls", json={"participants": [ALICE], "color": "red"})
    assert response.status_code == 400


def test_admin_unknown_recording_is_404(emulator: AcsEmulator, http: requests.Session) -> None:
    assert http.get(f"{emulator.admin_url}/recordings/nope").status_code == 404


def test_admin_requests_lists_api_calls_but_not_admin_calls(
    emulator: AcsEmulator, http: requests.Session, client: CallAutomationClient
) -> None:
    call = emulator.create_call([ALICE])
    assert http.delete(f"{emulator.admin_url}/requests").status_code == 204
    client.start_recording(server_call_id=call.server_call_id)
    listed = http.get(f"{emulator.admin_url}/requests").json()
    assert [(r["method"], r["status"]) for r in listed] == [("POST", 200)]
    assert "<redacted>" in listed[0]["headers"]["authorization"]


def test_admin_refuses_non_loopback_peers() -> None:
    request = Request("GET", "/admin/calls", "/admin/calls", {}, {}, b"", client_host="192.168.1.20")
    with pytest.raises(ApiError) as info:
        require_loopback_peer(request)
    assert info.value.status == 403


def test_standalone_prints_settings_and_exits_cleanly_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.acs_emulator", "--port", "0"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(7)]
        settings = dict(line.split("=", 1) for line in lines[:6])
        assert settings["ACS_CONNECTION_STRING"].startswith("endpoint=https://127.0.0.1:")
        assert settings["ACS_OPENID_CONFIGURATION_URL"].endswith(
            "/calling/.well-known/acsopenidconfiguration"
        )
        assert os.path.isfile(settings["ACS_CA_PEM"])
        assert "listening" in lines[6]
        session = requests.Session()
        session.trust_env = False
        response = session.get(settings["ACS_OPENID_CONFIGURATION_URL"], verify=settings["ACS_CA_PEM"])
        assert response.status_code == 200
        session.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert not os.path.exists(settings["ACS_CA_PEM"])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
