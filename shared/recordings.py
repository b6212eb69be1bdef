"""Recording control: the SDK calls behind the HTTP routes, plus their catalog bookkeeping."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError

from shared.catalog import Catalog, StartedRecording
from shared.catalog_index import QueryError, parse_query
from shared.clients import call_automation_client, table_service_client
from shared.errors import ACS, STORAGE, ApiError, bad_request, upstream
from shared.recording_ids import is_recording_id
from shared.recording_options import StartRecordingOptions
from shared.settings import Settings, StorageConnection

if TYPE_CHECKING:
    from azure.communication.callautomation import CallAutomationClient

_LOG = logging.getLogger(__name__)


def checked_recording_id(value: str | None) -> str:
    if not value or not is_recording_id(value):
        raise bad_request(
            "The recording id is not a valid ACS recording id.", "recordingId", code="InvalidRecordingId"
        )
    return value


@cache
def _catalog(storage: StorageConnection, table_name: str) -> Catalog:
    service = table_service_client(storage)
    with upstream(STORAGE):
        service.create_table_if_not_exists(table_name)
    return Catalog(service.get_table_client(table_name))


def catalog(settings: Settings) -> Catalog:
    """The catalog table client, created on first use in this worker."""
    return _catalog(settings.storage, settings.catalog_table)


def reset_catalog() -> None:
    _catalog.cache_clear()


class RecordingControl:
    """Start, inspect, pause, resume and stop recordings on ACS."""

    def __init__(self, settings: Settings, client: CallAutomationClient | None = None) -> None:
        self._settings = settings
        self._client = client or call_automation_client(settings.acs)

    def start(self, options: StartRecordingOptions) -> StartedRecording:
        with upstream(ACS):
            result = self._client.start_recording(**options.to_sdk_kwargs())
        started = StartedRecording(
            recording_id=str(result.recording_id),
            state=str(result.recording_state or "inactive"),
            kind=str(getattr(result, "recording_kind", None) or "azureCommunicationServices"),
            options=options,
            at=datetime.now(UTC),
        )
        try:
            catalog(self._settings).record_started(started)
        except Exception as error:  # the recording runs; a catalog hiccup must not make clients retry
            _LOG.error("Recording started but the catalog write failed: %s", type(error).__name__)
        return started

    def properties(self, recording_id: str) -> dict[str, Any]:
        with upstream(ACS):
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
        with upstream(ACS):
            self._client.pause_recording(recording_id)

    def resume(self, recording_id: str) -> None:
        with upstream(ACS):
            self._client.resume_recording(recording_id)

    def stop(self, recording_id: str) -> None:
        with upstream(ACS):
            self._client.stop_recording(recording_id)


def catalog_entry(settings: Settings, recording_id: str) -> dict[str, Any] | None:
    """The catalog's view, or None; a storage outage degrades the answer instead of failing it."""
    try:
        return catalog(settings).get(recording_id)
    except (AzureError, ApiError) as error:
        _LOG.warning("Catalog read failed: %s", type(error).__name__)
        return None


def list_catalog(settings: Settings, params: dict[str, str], now: datetime) -> dict[str, Any]:
    """`GET /api/recordings`: a page of the catalog, newest first, by call, state, archive status or time."""
    try:
        query = parse_query(params, now=now)
    except QueryError as error:
        raise bad_request(str(error), error.target) from None
    token = params.get("continuationToken") or None
    try:
        with upstream(STORAGE):
            entries, next_token = catalog(settings).query(query, token)
    except QueryError as error:
        raise bad_request(str(error), error.target) from None
    body: dict[str, Any] = {
        "recordings": entries,
        "continuationToken": next_token,
        "query": {
            "by": query.kind,
            "value": query.value or None,
            "from": query.start.isoformat() if query.start else None,
            "to": query.end.isoformat() if query.end else None,
            "pageSize": query.page_size,
        },
    }
    if query.kind == "serverCallId":
        body["serverCallId"] = query.value
    return body
