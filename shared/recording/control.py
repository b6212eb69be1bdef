"""Recording control: the SDK calls behind the HTTP routes, plus their catalog bookkeeping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from shared import telemetry
from shared.clients import call_automation_client
from shared.errors import ACS, ApiError, not_found, upstream
from shared.recording.catalog import StartedRecording
from shared.recording.catalog_table import catalog_entry, record_started
from shared.recording.options import StartRecordingOptions
from shared.recording_ids import canonical_recording_id
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient


@dataclass(frozen=True)
class Repeatability:
    """ACS's repeatable-request headers for one start: the same id and first-sent time on every
    send of one attempt make ACS answer a resend with the recording the first send started."""

    request_id: uuid.UUID
    first_sent: datetime

    def headers(self) -> dict[str, str]:
        return {
            "Repeatability-Request-ID": str(self.request_id),
            "Repeatability-First-Sent": format_datetime(self.first_sent.astimezone(UTC), usegmt=True),
        }


def _acs_span(operation: str, recording_id: str) -> AbstractContextManager[None]:
    return telemetry.span(f"{telemetry.ACS_CALL}.{operation}", recording_id=recording_id)


class RecordingControl:
    """Start, inspect, pause, resume and stop recordings on ACS."""

    def __init__(self, settings: Settings, client: CallAutomationClient | None = None) -> None:
        self._settings = settings
        self._client = client or call_automation_client(settings.acs)

    def start(
        self,
        options: StartRecordingOptions,
        *,
        policy_rule: str | None = None,
        repeatability: Repeatability | None = None,
    ) -> StartedRecording:
        """Start a recording and catalog it. `repeatability`: the request's Repeatability-Request-ID and
        -First-Sent, so that sending it again (a retry of the same attempt) starts nothing new; the
        SDK makes up fresh ones when they are not given."""
        kwargs = options.to_sdk_kwargs()
        if repeatability is not None:
            kwargs["headers"] = repeatability.headers()
        try:
            with upstream(ACS), telemetry.span(f"{telemetry.ACS_CALL}.start_recording"):
                result = self._client.start_recording(**kwargs)
        except ApiError as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise
            # ACS answers 404 when the call is unknown or over: it is the call that is missing here
            raise not_found(
                f"ACS does not know this call, or it has ended: {error.message}",
                options.call.kind,
                code="CallNotFound",
            ) from None
        started = StartedRecording(
            recording_id=canonical_recording_id(result.recording_id) or str(result.recording_id),
            state=str(result.recording_state or "inactive"),
            kind=str(getattr(result, "recording_kind", None) or "azureCommunicationServices"),
            options=options,
            at=datetime.now(UTC),
            policy_rule=policy_rule,
        )
        record_started(self._settings, started)
        return started

    def properties(self, recording_id: str) -> dict[str, Any]:
        with upstream(ACS), _acs_span("get_recording_properties", recording_id):
            result = self._client.get_recording_properties(recording_id)
        return {
            "recordingId": result.recording_id,
            "state": result.recording_state,
            "kind": getattr(result, "recording_kind", None),
        }

    def status(self, recording_id: str) -> dict[str, Any]:
        """Live state from ACS plus the catalog entry. ACS forgets a recording once it stops
        (404); when the catalog still knows it, answer with the catalog and `live: false`."""
        entry = catalog_entry(self._settings, recording_id)
        try:
            live = {**self.properties(recording_id), "live": True}
        except ApiError as error:
            if error.status != 404 or entry is None:
                raise
            live = {"recordingId": recording_id, "state": None, "kind": entry.get("kind"), "live": False}
        return {**live, "catalog": entry}

    def pause(self, recording_id: str) -> None:
        with (
            self._stopped_is_a_conflict(recording_id, "paused"),
            upstream(ACS),
            _acs_span("pause_recording", recording_id),
        ):
            self._client.pause_recording(recording_id)

    def resume(self, recording_id: str) -> None:
        with (
            self._stopped_is_a_conflict(recording_id, "resumed"),
            upstream(ACS),
            _acs_span("resume_recording", recording_id),
        ):
            self._client.resume_recording(recording_id)

    def stop(self, recording_id: str) -> None:
        with (
            self._stopped_is_a_conflict(recording_id, "stopped again"),
            upstream(ACS),
            _acs_span("stop_recording", recording_id),
        ):
            self._client.stop_recording(recording_id)

    @contextmanager
    def _stopped_is_a_conflict(self, recording_id: str, action: str) -> Iterator[None]:
        """ACS forgets a stopped recording (404); when the catalog knows it, the truth is that it
        stopped: 409 RecordingStopped, as `GET` answers `live: false` for it."""
        try:
            yield
        except ApiError as error:
            if error.status != HTTPStatus.NOT_FOUND or catalog_entry(self._settings, recording_id) is None:
                raise
            raise ApiError(
                HTTPStatus.CONFLICT, "RecordingStopped", f"The recording has stopped; it cannot be {action}."
            ) from None
