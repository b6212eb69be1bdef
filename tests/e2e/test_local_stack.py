"""The whole service over HTTP through the local host, as `make run` + `make demo` use it."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import pytest
import requests
from azure.storage.blob import ContainerClient

from devtools import demo
from devtools.acs_emulator.events import EVENT_TYPE as FILE_EVENT
from tests.support.local_stack import EVENT_FUNCTION, LocalStack


def verify_blobs(stack: LocalStack, manifest: dict[str, Any]) -> None:
    container = ContainerClient.from_connection_string(
        stack.azurite.connection_string, stack.settings.archive_container
    )
    files = {c.document_id: c for c in stack.emulator.recording_files(manifest["recordingId"]).chunks}
    for chunk in manifest["chunks"]:
        data = container.download_blob(chunk["blobName"]).readall()
        assert (
            hashlib.sha256(data).hexdigest() == files[chunk["documentId"]].content_sha256() == chunk["sha256"]
        )


def test_demo_lifecycle_records_pauses_resumes_stops_and_archives(local_stack: LocalStack) -> None:
    archive = demo.run(local_stack.client(), timeout=60)
    assert archive["runtimeStatus"] == "Completed"
    assert archive["customStatus"]["phase"] == "done"
    recording = local_stack.emulator.recording(archive["recordingId"])
    assert [h.state for h in recording.history][:4] == ["inactive", "active", "inactive", "active"]
    verify_blobs(local_stack, archive["manifest"])


def test_demo_policy_run_archives_a_call_recorded_by_policy_and_puts_the_policy_back(
    local_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    client = local_stack.client()
    with caplog.at_level(logging.INFO):
        archive = demo.run_policy(client, timeout=60)
    assert (archive["runtimeStatus"], archive["status"]) == ("Completed", "Completed")
    verify_blobs(local_stack, archive["manifest"])
    recording = local_stack.emulator.recording(archive["recordingId"])
    assert (recording.channel_type, recording.stop_reason) == ("unmixed", "callEnded")
    started = [r.getMessage() for r in caplog.records if "Executing 'Functions." in r.getMessage()]
    assert any("Functions.on_acs_event" in line for line in started)  # the host's lines were captured
    assert not any("Functions.start_recording" in line for line in started)  # no POST /api/recordings
    assert client.call("GET", "recording-policy").json() == {"rules": []}


def test_event_grid_handshake_is_answered_over_http(local_stack: LocalStack) -> None:
    assert local_stack.host is not None
    code = "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    response = requests.post(
        local_stack.host.event_grid_url(EVENT_FUNCTION),
        json=[
            {
                "id": "v1",
                "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                "subject": "",
                "data": {"validationCode": code},
                "eventTime": "2026-11-24T00:00:00Z",
                "dataVersion": "1",
            }
        ],
        headers={"aeg-event-type": "SubscriptionValidation"},
        timeout=10,
    )
    assert (response.status_code, response.json()) == (200, {"validationResponse": code})


def test_event_grid_webhook_without_the_key_is_401(local_stack: LocalStack) -> None:
    assert local_stack.host is not None
    url = local_stack.host.event_grid_url(EVENT_FUNCTION).split("&code=")[0]
    assert (
        requests.post(url, json=[], headers={"aeg-event-type": "Notification"}, timeout=10).status_code == 401
    )


def test_duplicate_webhook_deliveries_archive_once(local_stack: LocalStack) -> None:
    local_stack.emulator.add_fault("duplicate_event", count=1, event_type=FILE_EVENT)  # not a call event
    archive = demo.run(local_stack.client(), timeout=60)
    assert local_stack.emulator.wait_for_events(10)
    assert local_stack.engine is not None
    archives = [s for s in local_stack.engine.list_statuses() if s["instanceId"].startswith("archive-")]
    assert len(archives) == 1
    notifications = [
        d
        for d in local_stack.emulator.event_deliveries
        if d.kind == "notification" and d.status == 202 and d.event_type == FILE_EVENT
    ]
    assert len(notifications) >= 2  # at least once: the duplicate arrived, and started nothing
    verify_blobs(local_stack, archive["manifest"])


def test_host_restart_in_the_middle_of_an_archive_resumes_it(local_stack: LocalStack) -> None:
    emulator = local_stack.emulator
    emulator.add_fault("bandwidth", r"/content/audio", count=None, bytes_per_second=1_500_000)
    client = local_stack.client()
    call = emulator.create_call(participants=demo.PARTICIPANTS)
    started = client.call(
        "POST", "recordings", json={"serverCallId": call.server_call_id, "channel": "unmixed"}
    )
    recording_id = started.json()["recordingId"]
    deadline = time.monotonic() + 10
    while emulator.recording(recording_id).state != "active":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    emulator.set_recording_timeline(recording_id, duration_s=60)  # 7.7 MB at 1.5 MB/s: ~5 s to transfer
    emulator.clear_requests()  # the session's log holds earlier tests' downloads
    client.call("DELETE", f"recordings/{recording_id}")
    (chunk,) = emulator.recording_files(recording_id).chunks
    ours = f"/v1/objects/{chunk.document_id}/content/audio"
    deadline = time.monotonic() + 15
    while not any(r.path.startswith(ours) and r.method == "GET" for r in emulator.requests):
        assert time.monotonic() < deadline, "the archive never started downloading"
        time.sleep(0.05)
    time.sleep(1.0)
    local_stack.stop()  # the host dies mid-transfer
    container = ContainerClient.from_connection_string(
        local_stack.azurite.connection_string, local_stack.settings.archive_container
    )
    assert not [
        b.name for b in container.list_blobs() if chunk.document_id in b.name and b.name.endswith(".wav")
    ], "finished before the restart"
    emulator.clear_faults()
    local_stack.start()
    client = local_stack.client()
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(
            f"{client.api}/recordings/{recording_id}/archive", headers=client.key, timeout=10
        )
        if response.status_code == 200 and response.json()["runtimeStatus"] in ("Completed", "Failed"):
            break
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    archive = response.json()
    assert archive["runtimeStatus"] == "Completed", json.dumps(archive)[:500]
    verify_blobs(local_stack, archive["manifest"])


def test_a_failing_archive_says_so_in_the_log_with_its_next_attempt(
    local_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 24: the console showed "started for 1 chunks" and nothing about retries or failure."""
    emulator = local_stack.emulator
    emulator.add_fault("status", r"/content/", count=None, status=403)
    client = local_stack.client()
    call = emulator.create_call(participants=demo.PARTICIPANTS)
    recording_id = client.call("POST", "recordings", json={"serverCallId": call.server_call_id}).json()[
        "recordingId"
    ]
    deadline = time.monotonic() + 10
    while emulator.recording(recording_id).state != "active":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with caplog.at_level(logging.INFO):
        client.call("DELETE", f"recordings/{recording_id}")
        deadline = time.monotonic() + 30
        while not any("is Retrying" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "no log line said the archive is retrying"
            time.sleep(0.1)
    said = [r for r in caplog.records if r.name.startswith("shared.archive")]
    assert any(r.levelno == logging.WARNING and "not archived" in r.getMessage() for r in said)
    retrying = next(r for r in said if "is Retrying" in r.getMessage())
    assert "403" in retrying.getMessage()
    assert "next attempt at" in retrying.getMessage()
    emulator.clear_faults()
