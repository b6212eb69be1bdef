"""ACS's recording result (a preview API): a recording's files, asked for when their event never came.

`GET /calling/recordings/{recordingId}/result`, api-version 2025-08-15-preview, answers what a
RecordingFileStatusUpdated event carries (`recordingStorageInfo.recordingChunks`, start time,
duration, end reason) plus `errors` and `recordingExpirationTime` (captured exchange:
tests/fixtures/reference/acs-recording/recording-result.get.real-2025-08-15-preview.json). It exists
only in preview api-versions and may change or go away; azure-communication-callautomation 1.6.0
does not expose it. So the request is sent through the SDK client's own pipeline, the generated
client's public `send_request`: the same credential policy (HMAC or Entra token), retries,
allow-list and logging as every control call, and nothing of ours signs anything. Reaching that
generated client is the one private step (`CallAutomationClient._client`), checked here and by
tests/unit/archive/test_recording_result.py, which fails loudly if the SDK moves it.

The answer is turned into the event ACS would have sent (`files_event`, pure) and goes through the
one parser and intake every delivery goes through: same validation, allow-list and instance id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import quote

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, map_error
from azure.core.rest import HttpRequest, HttpResponse

from shared import telemetry
from shared.archive.events import EVENT_TYPE
from shared.archive.intake import DeliveredEvent
from shared.clients import call_automation_client
from shared.recording_ids import canonical_recording_id
from shared.settings import AcsConnection

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient

PREVIEW_API_VERSION: Final = "2025-08-15-preview"
STILL_ONGOING: Final = "SessionStillOngoing"  # as captured 4 s after a stop: the files are not final yet
# The event's data fields the result carries under the same names (the rest is the result's own).
_EVENT_FIELDS: Final = (
    "recordingStorageInfo",
    "recordingStartTime",
    "recordingDurationMs",
    "sessionEndReason",
)


class _SendsRequests(Protocol):
    def send_request(self, request: HttpRequest, *, stream: bool = False, **kwargs: Any) -> HttpResponse: ...


class SdkLayoutChangedError(RuntimeError):
    """The Call Automation SDK no longer keeps its generated client where this module reaches it."""


def generated_client(client: CallAutomationClient) -> _SendsRequests:
    """The SDK's generated service client (its pipeline: credential, retries, our per-hop policies).

    Private in azure-communication-callautomation 1.6.0 (`self._client`, built in
    `CallAutomationClient.__init__`); its `send_request` is the generated code's public way to send
    a request the SDK has no method for (https://aka.ms/azsdk/dpcodegen/python/send_request)."""
    inner = getattr(client, "_client", None)
    if not callable(getattr(inner, "send_request", None)):
        raise SdkLayoutChangedError(
            "azure-communication-callautomation no longer has CallAutomationClient._client.send_request; "
            "the recording result request cannot be sent through its pipeline"
        )
    sender: _SendsRequests = inner  # type: ignore[assignment]  # checked just above
    return sender


def read_recording_result(acs: AcsConnection, recording_id: str) -> object | None:
    """ACS's result document for the recording; None when ACS does not know it (404). Any other
    failure raises azure-core's error (after the pipeline's own retries)."""
    request = HttpRequest(
        "GET",
        f"/calling/recordings/{quote(recording_id, safe='')}/result",  # quoted as the SDK quotes ids
        params={"api-version": PREVIEW_API_VERSION},
        headers={"Accept": "application/json"},
    )
    with telemetry.span(f"{telemetry.ACS_CALL}.get_recording_result", recording_id=recording_id):
        response = generated_client(call_automation_client(acs)).send_request(request)
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        map_error(
            response.status_code, response, {401: ClientAuthenticationError, 403: ClientAuthenticationError}
        )
        raise HttpResponseError(response=response)
    try:
        document: object = response.json()
    except ValueError:
        return response.text()  # not JSON: files_event says so
    return document


@dataclass(frozen=True)
class NotReady:
    """Why the result cannot be archived yet (one short line for the log; the recording stays Overdue)."""

    reason: str


def files_event(
    recording_id: str, server_call_id: str | None, result: object, *, read_at: datetime
) -> DeliveredEvent | NotReady:
    """The result as the RecordingFileStatusUpdated event ACS would have published, for the one
    parser to validate (shared.archive.events): its subject names the recording, so the archive's
    instance id is the one the event would have given. Not ready while ACS says the session is still
    ongoing or lists no chunk. The event time is when the result was read (the deadline counts from it)."""
    if not isinstance(result, dict):
        return NotReady("ACS's result is not a JSON object")
    answered = result.get("recordingId")
    if answered is not None and canonical_recording_id(answered) != recording_id:
        return NotReady("ACS's result names another recording")
    if result.get("sessionEndReason") == STILL_ONGOING:
        return NotReady(f"ACS says the session is still ongoing ({STILL_ONGOING})")
    storage = result.get("recordingStorageInfo")
    chunks = storage.get("recordingChunks") if isinstance(storage, dict) else None
    if not isinstance(chunks, list) or not chunks:
        return NotReady("ACS's result lists no chunk")
    call = f"/serverCallId/{server_call_id}" if server_call_id else ""
    return DeliveredEvent(
        event_type=EVENT_TYPE,
        subject=f"/recording{call}/recordingId/{recording_id}",
        event_id=f"recordingResult:{read_at.isoformat()}",
        event_time=read_at,
        data={name: result[name] for name in _EVENT_FIELDS if name in result},
    )
