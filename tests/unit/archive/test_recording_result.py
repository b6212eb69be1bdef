"""ACS's (preview) recording result -> the file event it stands for: the captured answer, what is not
ready yet, and the one private SDK attribute the request goes through."""

from __future__ import annotations

import base64
import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.communication.callautomation._generated._client import AzureCommunicationCallAutomationService
from azure.core.credentials import AzureKeyCredential

from shared.archive.intake import DeliveredEvent, job_of
from shared.archive.recording_result import (
    STILL_ONGOING,
    NotReady,
    SdkLayoutChangedError,
    files_event,
    generated_client,
)
from shared.recording_ids import archive_instance_id
from tests.reference import load

CAPTURED: dict[str, Any] = load("recording-result.get.real-2025-08-15-preview.json")["response"]["body"]
RECORDING_ID = CAPTURED["recordingId"]
READ_AT = datetime(2025, 7, 24, 10, 19, tzinfo=UTC)


def settled(**changes: Any) -> dict[str, Any]:
    """The captured answer as it would read once the session ended (the capture was 4 s after a stop)."""
    return {**copy.deepcopy(CAPTURED), "sessionEndReason": "SessionEnded", **changes}


def event_of(result: object, server_call_id: str | None = "c2VydmVyLWNhbGw") -> DeliveredEvent:
    found = files_event(RECORDING_ID, server_call_id, result, read_at=READ_AT)
    assert isinstance(found, DeliveredEvent), found
    return found


def test_the_captured_answer_is_not_ready_while_acs_says_the_session_is_still_ongoing() -> None:
    assert CAPTURED["sessionEndReason"] == STILL_ONGOING
    found = files_event(RECORDING_ID, None, CAPTURED, read_at=READ_AT)
    assert isinstance(found, NotReady)
    assert STILL_ONGOING in found.reason


@pytest.mark.parametrize("server_call_id", ["c2VydmVyLWNhbGw", "aGVsbG8/d29y/bGQ=", None])
def test_a_settled_answer_becomes_the_event_the_one_parser_reads_with_the_events_instance_id(
    server_call_id: str | None,
) -> None:
    event = event_of(settled(), server_call_id)
    job = job_of(event)
    assert job.instance_id == archive_instance_id(RECORDING_ID)
    assert (job.recording_id, job.server_call_id) == (RECORDING_ID, server_call_id)
    [chunk] = job.chunks
    captured = CAPTURED["recordingStorageInfo"]["recordingChunks"][0]
    assert (chunk.document_id, chunk.content_location, chunk.delete_location) == (
        captured["documentId"],
        captured["contentLocation"],
        captured["deleteLocation"],
    )
    assert (job.duration_ms, job.event_time) == (CAPTURED["recordingDurationMs"], READ_AT.isoformat())


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (settled(recordingStorageInfo={"recordingChunks": []}), "no chunk"),
        (settled(recordingStorageInfo=None), "no chunk"),
        (settled(recordingId="b3RoZXItcmVjb3JkaW5n"), "another recording"),
        ("<html>gateway</html>", "not a JSON object"),
    ],
)
def test_an_answer_without_chunks_for_this_recording_is_not_ready(result: object, reason: str) -> None:
    found = files_event(RECORDING_ID, None, result, read_at=READ_AT)
    assert isinstance(found, NotReady)
    assert reason in found.reason


def test_a_forged_chunk_url_is_refused_by_the_events_own_validation() -> None:
    result = settled()
    result["recordingStorageInfo"]["recordingChunks"][0]["contentLocation"] = "https://evil.example/x"
    event = event_of(result)
    with pytest.raises(ValueError, match="contentLocation"):
        job_of(event)


def test_the_sdk_still_keeps_the_generated_client_the_request_is_sent_through() -> None:
    # If this fails, azure-communication-callautomation moved `CallAutomationClient._client` (1.6.0):
    # recovery of missing events would stop working. Find the new place before upgrading.
    key = base64.b64encode(b"k" * 32).decode()
    client = CallAutomationClient("https://example.communication.azure.com", AzureKeyCredential(key))
    sender = generated_client(client)
    assert isinstance(sender, AzureCommunicationCallAutomationService)
    assert sender is client._client


def test_a_moved_generated_client_fails_loudly() -> None:
    class Moved:
        pass

    with pytest.raises(SdkLayoutChangedError, match=r"_client\.send_request"):
        generated_client(Moved())  # type: ignore[arg-type]
