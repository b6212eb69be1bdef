"""The archive pipeline end to end on real parts: emulator -> Event Grid webhook -> our function
-> Durable orchestration (real orchestrator code, replayed) -> chunk activities -> Azurite."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
import requests
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.events import EVENT_TYPE as FILE_EVENT
from devtools.acs_emulator.events import build_file_status_event
from devtools.devhost import DevHost
from devtools.durable import DurableEngine, InMemoryStore
from shared.recording_ids import recording_key
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.support.api import on_recording
from tests.support.archive import (
    EVENT_FUNCTION,
    PARTICIPANTS,
    REPO,
    SECONDS_4CH,
    WAV_HEADER,
    archived,
    record,
)
from tests.support.functions import http_request, indexed_functions, invoke, json_body
from tests.support.local_stack import hosted_app


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_requests(emulator: AcsEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.startswith("/v1/objects/")]


def test_three_chunk_unmixed_recording_is_archived_byte_for_byte(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    emulator.max_chunk_bytes = WAV_HEADER + 30 * SECONDS_4CH  # exactly 30 s of 4-channel audio per chunk
    recording_id = record(
        emulator,
        seconds=90,
        body={"channel": "unmixed", "audioChannelParticipantOrdering": [PARTICIPANTS[2], PARTICIPANTS[0]]},
    )
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Completed", status
    files = emulator.recording_files(recording_id)
    assert len(files.chunks) == 3
    manifest = json.loads(container.download_blob(status["output"]["manifest"]).readall())
    assert [c["sha256"] for c in manifest["chunks"]] == [c.content_sha256() for c in files.chunks]
    for chunk, entry in zip(files.chunks, manifest["chunks"], strict=True):
        data = container.download_blob(entry["blobName"]).readall()
        assert sha256(data) == chunk.content_sha256()
        assert json.loads(container.download_blob(entry["metadataBlobName"]).readall()) == chunk.metadata


def test_archived_unmixed_chunk_is_a_30_second_four_channel_wav(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    recording_id = record(emulator, seconds=30, body={"channel": "unmixed"})
    manifest = json.loads(
        container.download_blob(archived(engine, recording_id)["output"]["manifest"]).readall()
    )
    (entry,) = manifest["chunks"]
    with wave.open(io.BytesIO(container.download_blob(entry["blobName"]).readall())) as audio:
        assert (audio.getnchannels(), audio.getframerate(), audio.getnframes()) == (4, 16000, 480000)
    assert entry["blobName"].endswith(".wav")
    assert entry["contentType"] == "audio/wav"


def test_blob_names_are_date_partitioned_under_the_recording(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    recording_id = record(emulator, seconds=2)
    manifest = json.loads(
        container.download_blob(archived(engine, recording_id)["output"]["manifest"]).readall()
    )
    start_date = emulator.recording_files(recording_id).chunks[0].start_time
    prefix = f"{start_date:%Y/%m/%d}/{recording_key(recording_id)}/"
    assert manifest["manifestBlobName"] == prefix + "manifest.json"
    assert all(c["blobName"].startswith(prefix + f"{c['index']:03d}-") for c in manifest["chunks"])


def test_catalog_and_archive_route_report_the_archive(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    archived(engine, recording_id)
    response = invoke(
        "get_archive",
        http_request("GET", f"recordings/{recording_id}/archive", route_params={"recordingId": recording_id}),
        durable_client=engine.client_binding_json(),
    )
    body = json_body(response)
    assert (response.status_code, body["runtimeStatus"]) == (200, "Completed")
    assert body["customStatus"]["phase"] == "done"
    assert body["manifest"]["status"] == "Completed"
    catalog = json_body(on_recording("get_recording", "GET", recording_id))["catalog"]
    assert catalog["archive"]["status"] == "Completed"
    assert catalog["archive"]["manifestBlobName"] == body["manifest"]["manifestBlobName"]


def archive_of(engine: DurableEngine, recording_id: str) -> Any:
    request = http_request(
        "GET", f"recordings/{recording_id}/archive", route_params={"recordingId": recording_id}
    )
    return json_body(invoke("get_archive", request, durable_client=engine.client_binding_json()))


def test_archive_route_for_an_unknown_recording_is_404(app_settings: Settings, engine: DurableEngine) -> None:
    response = invoke(
        "get_archive",
        http_request("GET", "recordings/bm9uZQ/archive", route_params={"recordingId": "bm9uZQ"}),
        durable_client=engine.client_binding_json(),
    )
    assert response.status_code == 404


def test_duplicate_delivery_starts_one_orchestration_and_rewrites_nothing(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    emulator.add_fault("duplicate_event", count=1, event_type=FILE_EVENT)  # not the call's CallStarted
    recording_id = record(emulator, seconds=2)
    archived(engine, recording_id)
    assert emulator.wait_for_events(10)
    before = {b.name: b.etag for b in container.list_blobs()}
    delivered = [d for d in emulator.event_deliveries if d.status == 202 and d.event_type == FILE_EVENT]
    assert len(delivered) >= 2
    redelivered = requests.post(
        host.event_grid_url(EVENT_FUNCTION),
        data=delivered[-1].body,
        headers={"aeg-event-type": "Notification"},
        timeout=10,
    )
    assert redelivered.status_code == 202
    assert len(engine.list_statuses()) == 1
    assert {b.name: b.etag for b in container.list_blobs()} == before


def test_concurrent_deliveries_of_one_event_run_one_archive(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    emulator.clear_event_webhooks()  # deliver by hand, all at once
    recording_id = record(emulator, seconds=2)
    event = build_file_status_event(emulator.recording_files(recording_id), emulator.event_topic)
    body = json.dumps([event]).encode()
    statuses: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: statuses.append(
                requests.post(
                    host.event_grid_url(EVENT_FUNCTION),
                    data=body,
                    headers={"aeg-event-type": "Notification"},
                    timeout=30,
                ).status_code
            )
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [202] * 4
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    assert len(engine.list_statuses()) == 1


@pytest.fixture
def racy_host(app_settings: Settings, emulator: AcsEmulator) -> Iterator[tuple[DevHost, DurableEngine]]:
    """The stack on an engine whose starts check-then-write, as the Azure Storage backend's do."""
    functions = list(indexed_functions())
    with (
        DurableEngine(
            functions,
            store=InMemoryStore(),
            host_json=REPO / "host.json",
            activity_workers=4,
            time_scale=0.001,
            atomic_create=False,
        ) as engine,
        hosted_app(emulator=emulator, durable_client=engine.client_binding_json) as host,
        emulator.loopback_dns(),
    ):
        yield host, engine


def test_racing_starts_that_both_run_still_leave_one_verified_archive(
    racy_host: tuple[DevHost, DurableEngine], emulator: AcsEmulator, container: ContainerClient
) -> None:
    host, engine = racy_host
    emulator.max_chunk_bytes = WAV_HEADER + 10 * SECONDS_4CH
    recording_id = record(emulator, seconds=30, body={"channel": "unmixed"})
    body = json.dumps([build_file_status_event(emulator.recording_files(recording_id), emulator.event_topic)])
    url, headers = host.event_grid_url(EVENT_FUNCTION), {"aeg-event-type": "Notification"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(lambda _: requests.post(url, data=body, headers=headers, timeout=30), range(4))
        )
    assert [answer.status_code for answer in answers] == [202] * 4
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Completed", status
    instance = f"archive-{recording_key(recording_id)}"
    assert len([started for started in engine.created if started[0] == instance]) >= 2  # both ran
    files = emulator.recording_files(recording_id)
    prefix = status["output"]["manifest"].rsplit("/", 1)[0]
    names = sorted(blob.name for blob in container.list_blobs(name_starts_with=prefix))
    manifest = json.loads(container.download_blob(status["output"]["manifest"]).readall())
    expected = sorted(
        [status["output"]["manifest"], f"{prefix}/event.json"]
        + [entry["blobName"] for entry in manifest["chunks"]]
        + [entry["metadataBlobName"] for entry in manifest["chunks"]]
    )
    assert names == expected  # one blob per chunk and its metadata, one manifest, one event: nothing twice
    assert [entry["sha256"] for entry in manifest["chunks"]] == [c.content_sha256() for c in files.chunks]
    for entry in manifest["chunks"]:
        assert sha256(container.download_blob(entry["blobName"]).readall()) == entry["sha256"]


def test_event_with_a_url_off_the_allow_list_is_dropped_before_any_request(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    chunk_url = "https://storage.attacker.example/v1/objects/0-eus-d1-abc/content/audiomp3"
    event = [
        {
            "id": "e1",
            "topic": "/subscriptions/x",
            "subject": "/recording/call/c/serverCallId/s/recordingId/cmVj",
            "eventType": "Microsoft.Communication.RecordingFileStatusUpdated",
            "eventTime": "2026-11-24T10:00:00Z",
            "dataVersion": "1.0",
            "metadataVersion": "1",
            "data": {
                "recordingStorageInfo": {
                    "recordingChunks": [
                        {
                            "documentId": "0-eus-d1-abc",
                            "index": 0,
                            "endReason": "SessionEnded",
                            "contentLocation": chunk_url,
                            "metadataLocation": chunk_url,
                            "deleteLocation": chunk_url,
                        }
                    ]
                },
                "recordingStartTime": "2026-11-24T09:59:00Z",
                "recordingDurationMs": 1000,
            },
        }
    ]
    before = len(content_requests(emulator))
    response = requests.post(
        host.event_grid_url(EVENT_FUNCTION),
        json=event,
        headers={"aeg-event-type": "Notification"},
        timeout=10,
    )
    assert response.status_code == 202
    assert engine.list_statuses() == []
    assert len(content_requests(emulator)) == before


def test_cloud_events_schema_delivery_is_archived_too(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    emulator.clear_event_webhooks()
    emulator.add_event_webhook(host.event_grid_url(EVENT_FUNCTION), schema="CloudEventSchemaV1_0")
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"


def test_subscription_validation_handshake_is_answered(host: DevHost, emulator: AcsEmulator) -> None:
    emulator.clear_event_webhooks()
    emulator.add_event_webhook(host.event_grid_url(EVENT_FUNCTION), validate=True)
    assert any(d.kind == "validation" and d.status == 200 for d in emulator.event_deliveries)


def deletes(emulator: AcsEmulator, recording_id: str) -> list[str]:
    """DELETE requests the emulator received for this recording's chunks."""
    paths = {f"/v1/objects/{c.document_id}" for c in emulator.recording_files(recording_id).chunks}
    return [r.path for r in content_requests(emulator) if r.method == "DELETE" and r.path in paths]


@pytest.fixture
def delete_source(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DELETE_SOURCE", "true")
    reset_worker_caches()


def test_verified_archive_deletes_the_acs_copy_of_every_chunk(
    delete_source: None,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    emulator.max_chunk_bytes = WAV_HEADER + 5 * SECONDS_4CH
    recording_id = record(emulator, seconds=10, body={"channel": "unmixed"})
    status = archived(engine, recording_id)
    files = emulator.recording_files(recording_id)
    assert status["runtimeStatus"] == "Completed"
    assert sorted(deletes(emulator, recording_id)) == sorted(
        f"/v1/objects/{c.document_id}" for c in files.chunks
    )
    manifest = json.loads(container.download_blob(status["output"]["manifest"]).readall())
    assert manifest["sourceDeletion"] == "deleted"
    assert all(c["sourceDeleted"] for c in manifest["chunks"])


def test_a_lost_archive_deletes_nothing(
    short_deadline: None,
    delete_source: None,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    status = archived(engine, recording_id)
    assert status["customStatus"]["phase"] == "lost"
    assert deletes(emulator, recording_id) == []
    manifest = archive_of(engine, recording_id)["manifest"]
    assert (manifest["status"], manifest["sourceDeletion"]) == ("Lost", "skippedArchiveFailed")


def test_delete_content_route_refuses_when_the_archive_was_lost(
    short_deadline: None, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    archived(engine, recording_id)
    response = delete_content(engine, recording_id)
    assert (response.status_code, json_body(response)["error"]["code"]) == (409, "ArchiveNotVerified")
    assert deletes(emulator, recording_id) == []


def test_delete_content_route_deletes_the_acs_copy_after_a_verified_archive(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    archived(engine, recording_id)
    first = json_body(delete_content(engine, recording_id))
    again = json_body(delete_content(engine, recording_id))
    (chunk,) = emulator.recording_files(recording_id).chunks
    assert (first["deleted"], again["deleted"]) == (1, 0)
    assert deletes(emulator, recording_id) == [f"/v1/objects/{chunk.document_id}"]


def delete_content(engine: DurableEngine, recording_id: str) -> Any:
    request = http_request(
        "DELETE", f"recordings/{recording_id}/content", route_params={"recordingId": recording_id}
    )
    return invoke("delete_recording_content", request)


def test_a_failed_rerun_does_not_erase_the_completed_manifest(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, app_settings: Settings
) -> None:
    from shared.archive.records import record_manifest
    from shared.archive.states import ArchiveStatus
    from shared.archive.store import read_manifest

    recording_id = record(emulator, seconds=2)
    manifest_name = archived(engine, recording_id)["output"]["manifest"]
    completed = read_manifest(app_settings, manifest_name)
    assert completed is not None
    failed = replace(completed, status=ArchiveStatus.RETRYING, chunks=(), errors=("gone",))
    record_manifest(app_settings, failed)
    assert read_manifest(app_settings, manifest_name) == completed
