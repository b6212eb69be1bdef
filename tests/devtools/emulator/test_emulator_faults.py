"""Fault knobs on the content plane, via the Python API and the admin API."""

from __future__ import annotations

import http.client
import ssl
import time
from urllib.parse import urlsplit

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.recording_files import RecordingChunk

from .conftest import content_get, start_recording

pytestmark = pytest.mark.usefixtures("dns")


@pytest.fixture
def chunk(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> RecordingChunk:
    recording_id = start_recording(client, call)
    return emulator.stop_recording(recording_id, duration_s=36.0).chunks[0]  # 576 KB mp3


def _raw_get(emulator: AcsEmulator, chunk: RecordingChunk) -> http.client.HTTPResponse:
    """GET from the regional host the recording host redirects to: where the body is served."""
    assert emulator.regional_content_host is not None
    target = urlsplit(chunk.content_location).path
    context = ssl.create_default_context(cafile=emulator.ca_pem_path)
    conn = http.client.HTTPSConnection(emulator.host, emulator.port, context=context, timeout=5)
    conn.request("GET", target, headers={"Host": emulator.regional_content_host})
    return conn.getresponse()


def test_status_fault_answers_with_retry_after(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    emulator.add_fault("status", "/content/", status=503, retry_after=7)
    failed = content_get(emulator, http, chunk.content_location)
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "7"
    assert "error" in failed.json()
    assert content_get(emulator, http, chunk.content_location).status_code == 200  # count=1 used up


def test_truncate_fault_closes_after_n_body_bytes(emulator: AcsEmulator, chunk: RecordingChunk) -> None:
    emulator.add_fault("truncate", "/content/", after_bytes=1000)
    response = _raw_get(emulator, chunk)
    assert int(response.headers["Content-Length"]) == chunk.content_length
    with pytest.raises(http.client.IncompleteRead) as raised:
        response.read()
    assert raised.value.partial == chunk.read(0, 1000)


def test_reset_fault_resets_the_connection_mid_body(emulator: AcsEmulator, chunk: RecordingChunk) -> None:
    emulator.add_fault("reset", "/content/", after_bytes=5000)
    response = _raw_get(emulator, chunk)
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, ssl.SSLError)):
        response.read()
    assert [(r.kind, r.count) for r in emulator.faults] == [("reset", 0)]  # listed, used up
    assert emulator.faults[0].applied == 1


def test_latency_fault_delays_the_answer(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    emulator.add_fault("latency", "/content/", seconds=0.4)
    started = time.monotonic()
    assert content_get(emulator, http, chunk.content_location, {"Range": "bytes=0-9"}).status_code == 206
    assert time.monotonic() - started >= 0.4


def test_bandwidth_fault_caps_the_transfer_rate(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    emulator.add_fault("bandwidth", "/content/", bytes_per_second=400_000)
    started = time.monotonic()
    response = content_get(emulator, http, chunk.content_location, {"Range": "bytes=0-199999"})
    assert len(response.content) == 200_000
    assert time.monotonic() - started >= 0.4


def test_faults_only_hit_matching_paths_and_methods(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    emulator.add_fault("status", "/content/acsmetadata$", status=500, method="GET")
    assert content_get(emulator, http, chunk.content_location).status_code == 200
    assert content_get(emulator, http, chunk.metadata_location).status_code == 500


def test_admin_api_adds_lists_and_clears_faults(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    created = http.post(
        f"{emulator.admin_url}/faults",
        json={"kind": "status", "path": "/content/", "status": 429, "retryAfter": 3, "count": 2},
    )
    assert created.status_code == 201
    throttled = content_get(emulator, http, chunk.content_location)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    listed = http.get(f"{emulator.admin_url}/faults").json()
    assert [(f["kind"], f["count"], f["applied"]) for f in listed] == [("status", 1, 1)]
    assert http.delete(f"{emulator.admin_url}/faults").status_code == 204
    assert content_get(emulator, http, chunk.content_location).status_code == 200


def test_admin_api_rejects_unknown_fault_kinds(emulator: AcsEmulator, http: requests.Session) -> None:
    assert http.post(f"{emulator.admin_url}/faults", json={"kind": "meteor"}).status_code == 400


def test_admin_api_lists_recording_files_with_hashes(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk, client: CallAutomationClient
) -> None:
    recording_id = next(
        r.recording_id
        for r in emulator.recordings()
        if r.state == "stopped" and emulator.recording_files(r.recording_id).chunks[:1] == (chunk,)
    )
    files = http.get(f"{emulator.admin_url}/recordings/{recording_id}/files?sha256=true").json()
    assert files["chunks"][0]["contentSha256"] == chunk.content_sha256()
    assert files["chunks"][0]["contentLength"] == chunk.content_length


def test_admin_api_stops_a_recording_with_a_timeline(
    emulator: AcsEmulator, http: requests.Session, client: CallAutomationClient, call: Call
) -> None:
    recording_id = start_recording(client, call)
    stopped = http.post(f"{emulator.admin_url}/recordings/{recording_id}/stop", json={"durationS": 7.2})
    assert stopped.status_code == 200
    assert stopped.json()["recordingDurationMs"] == 7200


def test_admin_api_changes_the_chunk_size(emulator: AcsEmulator, http: requests.Session) -> None:
    answer = http.patch(f"{emulator.admin_url}/settings", json={"maxChunkBytes": 100_000})
    assert answer.json()["maxChunkBytes"] == 100_000
    assert emulator.max_chunk_bytes == 100_000
