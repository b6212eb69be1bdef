"""Downloading and deleting recording files through the real SDK (and raw signed requests)."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
import socket
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast
from urllib.parse import urlsplit

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.content_api import parse_range
from devtools.acs_emulator.hmac_auth import sign_headers
from devtools.acs_emulator.recording_files import RecordingChunk
from devtools.loopback_dns import loopback_dns
from tests.reference import load

from .conftest import content_get, start_recording

pytestmark = pytest.mark.usefixtures("dns")


@pytest.fixture
def chunk(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> RecordingChunk:
    recording_id = start_recording(
        client, call, recording_channel_type="unmixed", recording_format_type="wav"
    )
    return emulator.stop_recording(recording_id, duration_s=2.0).chunks[0]


def _download(client: CallAutomationClient, url: str, **kwargs: Any) -> Any:
    """The SDK returns an azure-core streaming HttpResponse (typed as Iterable[bytes])."""
    return cast(Any, client.download_recording(url, **kwargs))


def test_sdk_downloads_the_whole_wav(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    data = b"".join(_download(client, chunk.content_location).iter_bytes())
    assert data == chunk.read()
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getnframes()) == (2, 32000)


def test_streamed_sha256_equals_the_api_value(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    digest = hashlib.sha256()
    for piece in _download(client, chunk.content_location).iter_bytes():
        digest.update(piece)
    assert digest.hexdigest() == chunk.content_sha256()


def test_download_without_range_is_200_with_content_range(
    client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    response = _download(client, chunk.content_location)
    total = chunk.content_length
    assert response.status_code == 200
    assert response.headers["Content-Range"] == f"bytes 0-{total - 1}/{total}"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert int(response.headers["Content-Length"]) == total


def test_ranged_download_with_offset_and_length(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    response = _download(client, chunk.content_location, offset=1000, length=500)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1499/{chunk.content_length}"
    assert b"".join(response.iter_bytes()) == chunk.read(1000, 1500)


def test_ranged_download_with_an_explicit_range_header(
    client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    response = _download(client, chunk.content_location, headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-99/{chunk.content_length}"
    assert b"".join(response.iter_bytes()) == chunk.read(0, 100)


def test_open_ended_range_runs_to_the_end(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    total = chunk.content_length
    response = _download(client, chunk.content_location, offset=total - 10)
    assert response.headers["Content-Range"] == f"bytes {total - 10}-{total - 1}/{total}"
    assert b"".join(response.iter_bytes()) == chunk.read(total - 10)


def test_unsatisfiable_range_is_416(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    total = chunk.content_length
    with pytest.raises(HttpResponseError) as raised:
        _download(client, chunk.content_location, headers={"Range": f"bytes={total}-"})
    assert raised.value.status_code == 416
    assert raised.value.response is not None
    assert raised.value.response.headers["Content-Range"] == f"bytes */{total}"


def test_parse_range_forms() -> None:
    assert parse_range("bytes=0-99", 1000) == (0, 99)
    assert parse_range("bytes=900-", 1000) == (900, 999)
    assert parse_range("bytes=-100", 1000) == (900, 999)
    assert parse_range("bytes=990-5000", 1000) == (990, 999)
    assert parse_range(None, 1000) is None
    assert parse_range("bytes=5-1", 1000) is None
    assert parse_range("items=0-1", 1000) is None


def test_metadata_downloads_as_octet_stream_json(client: CallAutomationClient, chunk: RecordingChunk) -> None:
    response = _download(client, chunk.metadata_location)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert b"".join(response.iter_bytes()) == chunk.metadata_content.data


def test_delete_then_downloads_and_deletes_are_404(
    client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    client.delete_recording(chunk.delete_location)
    with pytest.raises(ResourceNotFoundError):
        _download(client, chunk.content_location)
    with pytest.raises(ResourceNotFoundError):
        _download(client, chunk.metadata_location)
    with pytest.raises(ResourceNotFoundError):
        client.delete_recording(chunk.delete_location)


def test_404_body_is_a_communication_error_response(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    missing = chunk.content_location.replace(chunk.document_id, "0-eus-d1-" + "0" * 32)
    response = content_get(emulator, http, missing)
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"code", "message"}


def test_wrong_key_is_401(emulator: AcsEmulator, chunk: RecordingChunk) -> None:
    other_key = base64.b64encode(secrets.token_bytes(32)).decode()
    wrong = CallAutomationClient.from_connection_string(
        f"endpoint={emulator.endpoint}/;accesskey={other_key}", connection_verify=emulator.ca_pem_path
    )
    with pytest.raises(ClientAuthenticationError):
        _download(wrong, chunk.content_location)


def test_missing_x_ms_host_is_401(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    response = content_get(emulator, http, chunk.content_location, headers={"x-ms-host": ""})
    assert response.status_code == 401


def test_signature_over_the_content_host_is_401(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    target = urlsplit(chunk.content_location).path
    headers = sign_headers(
        method="GET",
        path_and_query=target,
        host=emulator.content_host,
        body=b"",
        access_key=emulator.access_key,
    )
    headers["x-ms-host"] = emulator.host
    assert http.get(chunk.content_location, headers=headers).status_code == 401


def test_downloads_and_deletes_are_recorded(
    emulator: AcsEmulator, client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    emulator.clear_requests()
    _download(client, chunk.content_location, offset=5, length=5).read()
    client.delete_recording(chunk.delete_location)
    seen = [(r.method, r.headers["host"], r.target, r.status) for r in emulator.requests]
    path = urlsplit(chunk.content_location).path
    assert seen == [
        ("GET", emulator.content_host, path, 302),
        ("GET", emulator.regional_content_host, path, 206),
        ("DELETE", emulator.content_host, f"/v1/objects/{chunk.document_id}", 200),
    ]
    assert [r.headers["range"] for r in emulator.requests[:2]] == ["bytes=5-9", "bytes=5-9"]


def test_a_download_is_redirected_to_the_regional_host_without_the_credential(
    emulator: AcsEmulator, client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    emulator.clear_requests()
    assert _download(client, chunk.content_location, offset=1, length=16).read() == chunk.read(1, 17)
    front, regional = emulator.requests
    assert (front.status, front.headers["authorization"].split(" ", 1)[0]) == (302, "HMAC-SHA256")
    assert regional.headers["host"] == emulator.regional_content_host
    assert "authorization" not in regional.headers  # azure-core drops it when the host changes


def test_the_redirect_has_the_captured_shape(
    emulator: AcsEmulator, http: requests.Session, chunk: RecordingChunk
) -> None:
    (captured, _) = load("download-responses.real.json")["redirect_then_ok"]["steps"]
    front = content_get(emulator, http, chunk.metadata_location, allow_redirects=False)
    location = urlsplit(front.headers["Location"])
    assert front.status_code == captured["response"]["status"] == 302
    assert front.headers["Content-Length"] == captured["response"]["headers"]["Content-Length"] == "0"
    assert (location.scheme, location.path) == ("https", urlsplit(chunk.metadata_location).path)
    assert location.hostname not in (None, urlsplit(chunk.metadata_location).hostname)


def test_an_unknown_document_is_404_before_any_redirect(
    emulator: AcsEmulator, client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    emulator.clear_requests()
    with pytest.raises(ResourceNotFoundError):
        client.download_recording(chunk.content_location.replace(chunk.document_id, "0-eus-d1-" + "0" * 32))
    assert [r.status for r in emulator.requests] == [404]


def test_parallel_ranged_gets_are_served_concurrently(
    emulator: AcsEmulator, client: CallAutomationClient, chunk: RecordingChunk
) -> None:
    emulator.add_fault("latency", "/v1/objects/", count=8, seconds=0.3)
    size = chunk.content_length // 8 + 1

    def fetch(index: int) -> bytes:
        return b"".join(
            _download(client, chunk.content_location, offset=index * size, length=size).iter_bytes()
        )

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(fetch, range(1, 8)))
    assert time.monotonic() - started < 1.5  # 7 x 0.3 s of latency, overlapped
    assert b"".join(parts) == chunk.read(size)


def test_loopback_dns_only_maps_recording_hosts(emulator: AcsEmulator) -> None:
    assert socket.getaddrinfo("us-storage.asm.skype.com", 443)[0][4][0] == "127.0.0.1"
    assert socket.getaddrinfo("x.asyncgw.teams.microsoft.com", 1)[0][4][0] == "127.0.0.1"
    with pytest.raises(ValueError, match="loopback"), loopback_dns("10.0.0.1"):
        pass


def test_loopback_dns_sends_the_default_https_port_to_the_emulator(emulator: AcsEmulator) -> None:
    assert socket.getaddrinfo("us-storage.asm.skype.com", 443)[0][4][1] == emulator.port
    assert socket.getaddrinfo("us-storage.asm.skype.com", "https")[0][4][1] == emulator.port
    assert socket.getaddrinfo("us-storage.asm.skype.com", 8443)[0][4][1] == 8443


def test_chunk_urls_carry_no_port_as_the_real_ones_do(chunk: RecordingChunk) -> None:
    for url in (chunk.content_location, chunk.metadata_location, chunk.delete_location):
        assert urlsplit(url).port is None
        assert urlsplit(url).hostname == "us-storage.asm.skype.com"
