"""RecordingFileStatusUpdated -> archive jobs: the real payload shapes, the allow-list, the limits."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.archive.events import parse_archive_event
from shared.archive.model import ArchiveJob
from shared.errors import InvalidEventError
from shared.recording_ids import HASHED_KEY_MARK, recording_key
from tests.reference import load

DOCS = load("recording-file-status-updated.eventgrid.docs.json")["events"][0]
CLOUD = load("recording-file-status-updated.cloudevent.sdk-test.json")["events"][0]
RECORDING_ID = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMzAwOTE4MC04ZTJmLTRkNzktYmM0OC04M2ZhYTkyZmZmOTUifQ"


def event_grid(data: Any = None, subject: str | None = None) -> dict[str, Any]:
    event = copy.deepcopy(DOCS)
    if data is not None:
        event["data"] = data
    event["subject"] = subject or f"/recording/call/c1/serverCallId/s1/recordingId/{RECORDING_ID}"
    return event


def parse(event: dict[str, Any]) -> ArchiveJob:
    return parse_archive_event(
        event_type=event.get("eventType") or event["type"],
        subject=event["subject"],
        event_id=event["id"],
        event_time=event.get("eventTime") or event["time"],
        data=event["data"],
    )


def with_chunk(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(DOCS["data"])
    data["recordingStorageInfo"]["recordingChunks"][0].update(changes)
    return data


def test_documented_event_becomes_a_job_with_its_chunk() -> None:
    job = parse(event_grid())
    (chunk,) = job.chunks
    assert (job.recording_id, job.server_call_id, job.duration_ms) == (RECORDING_ID, "s1", 6620)
    assert (chunk.index, chunk.document_id, chunk.end_reason) == (
        0,
        "0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8",
        "SessionEnded",
    )
    assert (
        chunk.delete_location == DOCS["data"]["recordingStorageInfo"]["recordingChunks"][0]["deleteLocation"]
    )


def test_instance_id_is_derived_from_the_recording_id() -> None:
    assert parse(event_grid()).instance_id == f"archive-{recording_key(RECORDING_ID)}"


def test_recording_key_has_only_name_safe_characters() -> None:
    assert recording_key("ab+/cd==") == "ab-_cd"


def test_without_a_recording_id_the_key_hashes_the_document_ids() -> None:
    job = parse(event_grid(subject="/recording/call/c1/serverCallId/s1"))
    assert job.recording_id is None
    assert job.recording_key.startswith(HASHED_KEY_MARK)
    assert job.recording_key == parse(event_grid(subject="/recording/call/other")).recording_key


def test_cloud_event_schema_without_delete_location_is_accepted() -> None:
    job = parse({**CLOUD, "subject": f"/recording/call/c1/recordingId/{RECORDING_ID}"})
    assert job.recording_id == RECORDING_ID
    assert job.chunks[0].delete_location is None
    assert job.format_hint == "mp3"


def test_job_round_trips_through_json() -> None:
    job = parse(event_grid())
    assert ArchiveJob.from_json(job.to_json()) == job


def test_chunks_are_ordered_by_index() -> None:
    data = copy.deepcopy(DOCS["data"])
    first = data["recordingStorageInfo"]["recordingChunks"][0]
    second = {**first, "index": 1, "documentId": "0-eus-d12-aaaa"}
    data["recordingStorageInfo"]["recordingChunks"] = [second, first]
    assert [c.index for c in parse(event_grid(data)).chunks] == [0, 1]


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("contentLocation", "https://attacker.example/v1/objects/x/content/audiomp3"),
        ("contentLocation", "http://us-storage.asm.skype.com/v1/objects/x/content/audiomp3"),
        ("metadataLocation", "https://asm.skype.com.attacker.example/v1/objects/x"),
        ("deleteLocation", "https://user:pw@us-storage.asm.skype.com/v1/objects/x"),
        ("contentLocation", "https://127.0.0.1/v1/objects/x"),
        ("metadataLocation", ""),
        ("contentLocation", "https://evil.asm.skype.com:29999/v1/objects/x/content/audiomp3"),
        ("deleteLocation", "https://us-storage.asm.skype.com:8443/v1/objects/x"),
    ],
)
def test_url_off_the_allow_list_rejects_the_event(field: str, url: str) -> None:
    with pytest.raises(InvalidEventError, match=field):
        parse(event_grid(with_chunk(**{field: url})))


@pytest.mark.parametrize(
    "host", ["us-storage.asm.skype.com", "x.asyncgw.teams.microsoft.com", "y.ams.gov.teams.microsoft.us"]
)
def test_every_acs_recording_host_is_allowed(host: str) -> None:
    url = f"https://{host}/v1/objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/audiomp3"
    assert parse(event_grid(with_chunk(contentLocation=url))).chunks[0].content_location == url


def test_the_explicit_default_https_port_is_allowed() -> None:
    url = "https://us-storage.asm.skype.com:443/v1/objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/audiomp3"
    assert parse(event_grid(with_chunk(contentLocation=url))).chunks[0].content_location == url


@pytest.mark.parametrize("document_id", ["../../etc", "a/b", "", "x" * 200, "0-eus d12"])
def test_malformed_document_id_rejects_the_event(document_id: str) -> None:
    with pytest.raises(InvalidEventError, match="documentId"):
        parse(event_grid(with_chunk(documentId=document_id)))


@pytest.mark.parametrize("index", [-1, 1.5, "0", True, 10_000])
def test_malformed_index_rejects_the_event(index: object) -> None:
    with pytest.raises(InvalidEventError, match="index"):
        parse(event_grid(with_chunk(index=index)))


def test_too_many_chunks_rejects_the_event() -> None:
    data = copy.deepcopy(DOCS["data"])
    data["recordingStorageInfo"]["recordingChunks"] = [
        {**data["recordingStorageInfo"]["recordingChunks"][0], "index": i, "documentId": f"d-{i}"}
        for i in range(1001)
    ]
    with pytest.raises(InvalidEventError, match="chunks"):
        parse(event_grid(data))


def test_duplicate_indexes_reject_the_event() -> None:
    data = copy.deepcopy(DOCS["data"])
    chunk = data["recordingStorageInfo"]["recordingChunks"][0]
    data["recordingStorageInfo"]["recordingChunks"] = [chunk, {**chunk, "documentId": "other"}]
    with pytest.raises(InvalidEventError, match="unique"):
        parse(event_grid(data))


def test_other_event_types_are_rejected() -> None:
    with pytest.raises(InvalidEventError):
        parse({**event_grid(), "eventType": "Microsoft.Communication.CallStarted"})


def test_malformed_recording_id_in_subject_rejects_the_event() -> None:
    with pytest.raises(InvalidEventError, match="recording id"):
        parse(event_grid(subject="/recording/call/c/recordingId/..%2F.."))


def test_server_call_id_with_slashes_keeps_the_recording_id() -> None:
    server_call_id = "aHR0cHM6Ly9hcGkuZmxpZ2h0cHJveHkuc2t5cGUuY29tL2FwaS92Mi9jcC9ckg/aT0xMC0xMjg="
    job = parse(
        event_grid(subject=f"/recording/call/c1/serverCallId/{server_call_id}/recordingId/{RECORDING_ID}")
    )
    assert (job.recording_id, job.server_call_id) == (RECORDING_ID, server_call_id)
