"""Download links over HTTP through the local host, against Azurite with the account key (a connection
string, as in local development): a 302 to a read-only SAS for exactly one blob, which Azurite itself
honours, refuses once expired, and refuses for any other blob."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.support.archive import archived, record


def link(
    host: DevHost, recording_id: str, index: object, suffix: str = "", **params: str
) -> requests.Response:
    return requests.get(
        f"{host.base_url}/api/recordings/{recording_id}/archive/chunks/{index}{suffix}",
        params=params,
        headers={"x-functions-key": host.function_key},
        allow_redirects=False,
        timeout=30,
    )


@pytest.fixture
def archived_recording(host: DevHost, engine: DurableEngine, emulator: AcsEmulator) -> dict[str, Any]:
    """A one-chunk recording, archived and verified: its id and manifest."""
    recording_id = record(emulator, seconds=2)
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Completed", status
    return {"recordingId": recording_id, "instance": status}


def manifest_of(host: DevHost, recording_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{host.base_url}/api/recordings/{recording_id}/archive",
        headers={"x-functions-key": host.function_key},
        timeout=30,
    )
    manifest: dict[str, Any] = response.json()["manifest"]
    return manifest


def test_a_chunk_link_redirects_to_storage_which_serves_exactly_the_verified_bytes(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    recording_id = archived_recording["recordingId"]
    (chunk,) = manifest_of(host, recording_id)["chunks"]
    response = link(host, recording_id, 0)
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    download = requests.get(response.headers["Location"], timeout=30)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == chunk["sha256"]
    assert download.headers["Content-Type"] == chunk["contentType"] == "audio/mpeg"


def test_the_download_is_named_for_the_day_the_recording_and_the_chunk(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    recording_id = archived_recording["recordingId"]
    (chunk,) = manifest_of(host, recording_id)["chunks"]
    download = requests.get(link(host, recording_id, 0).headers["Location"], timeout=30)
    day = chunk["blobName"][:10].replace("/", "-")
    tag = hashlib.sha256(chunk["blobName"].split("/")[3].encode()).hexdigest()[:10]
    assert download.headers["Content-Disposition"] == f'attachment; filename="recording-{day}-{tag}-000.mp3"'


def test_redirect_false_answers_the_link_and_its_expiry_as_json(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    recording_id = archived_recording["recordingId"]
    before = datetime.now(UTC)
    response = link(host, recording_id, 0, redirect="false")
    body = response.json()
    assert (response.status_code, response.headers["Cache-Control"]) == (200, "no-store")
    expires = datetime.fromisoformat(body["expiresOn"])
    assert (
        timedelta(minutes=15) - timedelta(seconds=5) <= expires - before <= timedelta(minutes=15, seconds=5)
    )
    assert hashlib.sha256(requests.get(body["url"], timeout=30).content).hexdigest() == body["sha256"]


def test_a_redirect_value_that_is_neither_true_nor_false_is_a_400_naming_it(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    """`?redirect=no` used to be taken silently as a redirect: the client asked for something else."""
    response = link(host, archived_recording["recordingId"], 0, redirect="no")
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["target"]) == (400, "InvalidRequest", "redirect")


def test_the_metadata_link_serves_the_chunks_metadata_document(
    host: DevHost, archived_recording: dict[str, Any], emulator: AcsEmulator
) -> None:
    recording_id = archived_recording["recordingId"]
    response = link(host, recording_id, 0, "/metadata")
    assert response.status_code == 302
    (chunk,) = emulator.recording_files(recording_id).chunks
    assert requests.get(response.headers["Location"], timeout=30).json() == chunk.metadata


def test_the_metadata_links_description_is_the_metadata_documents_own(
    host: DevHost, archived_recording: dict[str, Any], emulator: AcsEmulator
) -> None:
    # issue 24: `.../metadata?redirect=false` reported the media's size, SHA-256 and content type
    recording_id = archived_recording["recordingId"]
    described = link(host, recording_id, 0, "/metadata", redirect="false").json()
    served = requests.get(described["url"], timeout=30).content
    assert (described["size"], described["sha256"], described["contentType"]) == (
        len(served),
        hashlib.sha256(served).hexdigest(),
        "application/json",
    )
    assert described["fileName"].endswith("-000.metadata.json")


@pytest.fixture
def short_lived_links(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the host starts: the app runs in the worker, which reads its settings then."""
    monkeypatch.setenv("ARCHIVE_LINK_LIFETIME_SECONDS", "3")
    reset_worker_caches()


def test_an_expired_link_is_refused_by_storage(
    short_lived_links: None, host: DevHost, archived_recording: dict[str, Any]
) -> None:
    url = link(host, archived_recording["recordingId"], 0).headers["Location"]
    assert requests.get(url, timeout=30).status_code == 200  # the same link, while it lives
    time.sleep(4)
    # Azurite answers AuthorizationFailure; Azure's code for an expired SAS is AuthenticationFailed.
    assert requests.get(url, timeout=30).status_code == 403


def test_a_link_used_for_another_blob_is_refused_by_storage(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    recording_id = archived_recording["recordingId"]
    (chunk,) = manifest_of(host, recording_id)["chunks"]
    parts = urlsplit(link(host, recording_id, 0).headers["Location"])
    for other in (chunk["metadataBlobName"], manifest_of(host, recording_id)["manifestBlobName"]):
        path = parts.path.replace(chunk["blobName"], other)
        assert path != parts.path
        refused = requests.get(f"{parts.scheme}://{parts.netloc}{path}?{parts.query}", timeout=30)
        assert refused.status_code == 403, other


def test_a_link_is_read_only(host: DevHost, archived_recording: dict[str, Any]) -> None:
    url = link(host, archived_recording["recordingId"], 0).headers["Location"]
    overwrite = requests.put(
        url, data=b"not the recording", headers={"x-ms-blob-type": "BlockBlob"}, timeout=30
    )
    assert overwrite.status_code == 403
    assert parse_qs(urlsplit(url).query)["sp"] == ["r"]


def test_a_link_for_an_unknown_recording_is_404(host: DevHost, app_settings: Settings) -> None:
    response = link(host, "bm9uZQ", 0)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "RecordingNotFound")


def test_a_link_for_an_index_the_archive_does_not_have_is_404(
    host: DevHost, archived_recording: dict[str, Any]
) -> None:
    response = link(host, archived_recording["recordingId"], 7)
    assert (response.status_code, response.json()["error"]["target"]) == (404, "index")


def test_an_index_that_is_not_a_number_is_400(host: DevHost, archived_recording: dict[str, Any]) -> None:
    response = link(host, archived_recording["recordingId"], "first")
    assert (response.status_code, response.json()["error"]["target"]) == (400, "index")


def test_a_chunk_that_failed_to_archive_gets_no_link(
    short_deadline: None, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["customStatus"]["phase"] == "lost"
    response = link(host, recording_id, 0)
    assert (response.status_code, response.json()["error"]["target"]) == (404, "index")


def test_a_link_without_the_function_key_is_401_from_the_host(host: DevHost) -> None:
    response = requests.get(f"{host.base_url}/api/recordings/bm9uZQ/archive/chunks/0", timeout=10)
    assert (response.status_code, response.content) == (401, b"")


def test_no_log_line_carries_the_signature(
    host: DevHost, archived_recording: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recording_id = archived_recording["recordingId"]
    urls = [link(host, recording_id, 0).headers["Location"], link(host, recording_id, 0, redirect="false")]
    signatures = [parse_qs(urlsplit(url).query)["sig"][0] for url in [urls[0], urls[1].json()["url"]]]
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records  # the host did log the requests
    assert not [s for s in signatures if s in logged or json.dumps(s) in logged]


@pytest.mark.parametrize("index", ["²", "¹", "①", "٣", "9" * 5000, "-1", "+1", " 1"])
def test_an_index_that_is_no_plain_number_is_400(host: DevHost, index: str) -> None:
    # issue 24: `²`, `①` and 5,000 digits pass str.isdigit(), then int() raised: a 500
    response = link(host, "bm9uZQ", index)
    assert (response.status_code, response.json()["error"]["target"]) == (400, "index"), response.text
