"""`POST /api/recordings/{id}/archive` over HTTP through the local host: a failed archive is run again
from the event stored when it arrived, against the emulator and Azurite, without an Event Grid redelivery."""

from __future__ import annotations

import time

import pytest
import requests
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.recording_ids import recording_key
from shared.worker_cache import reset_worker_caches
from tests.support.api import eventually
from tests.support.archive import archived, archived_as_served, record
from tests.support.functions import http_request, invoke, json_body


def rerun(host: DevHost, recording_id: str) -> requests.Response:
    return requests.post(
        f"{host.base_url}/api/recordings/{recording_id}/archive",
        headers={"x-functions-key": host.function_key},
        timeout=30,
    )


def failed_archive(emulator: AcsEmulator, engine: DurableEngine) -> str:
    """A recording whose archive is Lost because ACS refused every download until the deadline (then
    stops refusing)."""
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    status = archived(engine, recording_id)
    assert (status["runtimeStatus"], status["customStatus"]["phase"]) == ("Completed", "lost")
    emulator.clear_faults()
    return recording_id


def content_gets(emulator: AcsEmulator) -> int:
    return len([r for r in emulator.requests if r.method == "GET" and "/content/" in r.path])


def test_a_lost_archive_is_run_again_and_completes_with_every_chunk_verified(
    short_deadline: None,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    recording_id = failed_archive(emulator, engine)
    emulator.clear_event_webhooks()  # no redelivery can help: only the stored event
    response = rerun(host, recording_id)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/api/recordings/{recording_id}/archive"
    assert response.json()["previousRuntimeStatus"] == "Completed"  # the run that ended Lost
    status = engine.wait_for(response.json()["instanceId"], timeout=30)
    assert status["runtimeStatus"] == "Completed", status
    archived_as_served(container, emulator, recording_id, status)


def test_a_rerun_while_the_archive_is_running_is_409_and_starts_nothing(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    emulator.add_fault("latency", r"/content/audio", count=None, seconds=3)
    recording_id = record(emulator, seconds=2)
    eventually(lambda: [s["runtimeStatus"] for s in engine.list_statuses()] == ["Running"], timeout=15)
    response = rerun(host, recording_id)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ArchiveRunning")
    assert response.headers["x-ms-error-code"] == "ArchiveRunning"
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    assert len(engine.list_statuses()) == 1


def test_a_rerun_of_a_completed_archive_is_409(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    before = content_gets(emulator)
    response = rerun(host, recording_id)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ArchiveCompleted")
    assert content_gets(emulator) == before


def test_a_rerun_for_a_recording_whose_event_never_arrived_is_404(host: DevHost) -> None:
    response = rerun(host, "bm9uZQ")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "RecordingNotFound")


def test_a_rerun_without_the_function_key_is_401_from_the_host(host: DevHost) -> None:
    response = requests.post(f"{host.base_url}/api/recordings/bm9uZQ/archive", timeout=10)
    assert (response.status_code, response.content) == (401, b"")


def test_the_archive_route_answers_the_rerun_archive_status(
    short_deadline: None, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = failed_archive(emulator, engine)
    instance = rerun(host, recording_id).json()["instanceId"]
    engine.wait_for(instance, timeout=30)
    request = http_request(
        "GET", f"recordings/{recording_id}/archive", route_params={"recordingId": recording_id}
    )
    body = json_body(invoke("get_archive", request, durable_client=engine.client_binding_json()))
    assert (body["runtimeStatus"], body["status"], body["manifest"]["status"]) == (
        "Completed",
        "Completed",
        "Completed",
    )


def test_a_rerun_of_a_retrying_archive_wakes_its_run_instead_of_starting_another(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_RETRY_FIRST_SECONDS", "3600")  # an hour of virtual time: 3.6 s of the wall's
    monkeypatch.setenv("ARCHIVE_RETRY_MAX_SECONDS", "3600")
    reset_worker_caches()
    fault = emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    instance = f"archive-{recording_key(recording_id)}"
    eventually(
        lambda: (engine.get_status(instance) or {}).get("customStatus", {}).get("phase") == "retrying", 30
    )
    emulator.clear_faults()
    woken_at = time.monotonic()
    response = rerun(host, recording_id)
    assert (response.status_code, response.json()["woken"]) == (202, True), response.text
    status = engine.wait_for(instance, timeout=30)
    assert time.monotonic() - woken_at < 3.0  # it did not wait out its hour
    assert (status["runtimeStatus"], status["output"]["chunks"]) == ("Completed", 1)
    assert fault.applied > 0
    assert len(engine.list_statuses()) == 1


def test_an_archive_whose_stored_event_is_gone_is_not_guessed_from_elsewhere(
    short_deadline: None,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    recording_id = failed_archive(emulator, engine)
    (event_blob,) = [b.name for b in container.list_blobs() if b.name.endswith("/event.json")]
    container.delete_blob(event_blob)
    response = rerun(host, recording_id)
    assert (response.status_code, response.json()["error"]["target"]) == (404, "recordingId")
