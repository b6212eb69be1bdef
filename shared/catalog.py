"""The recording catalog in Azure Table storage: options, state changes, last error.

Entity keys are hashes of the ids because ACS ids are base64 and may contain '/', which Table
storage forbids in keys. Two entity kinds share one table:

- `rec-<hash(recordingId)>` / `recording`: the recording itself;
- `call-<hash(serverCallId)>` / `<hash(recordingId)>`: an index to list a call's recordings.

Callbacks may arrive concurrently and out of order: updates are optimistic (ETag) with retries,
events are de-duplicated by CloudEvent id, and `state` follows the latest event *time*.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from shared.callback_events import RecordingCallbackEvent
from shared.recording_options import StartRecordingOptions

if TYPE_CHECKING:
    from azure.data.tables import TableClient

MAX_STATE_CHANGES: Final = 200
_ATTEMPTS: Final = 8
_RECORDING_ROW: Final = "recording"


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def recording_partition(recording_id: str) -> str:
    return f"rec-{_key(recording_id)}"


def call_partition(server_call_id: str) -> str:
    return f"call-{_key(server_call_id)}"


@dataclass(frozen=True)
class StartedRecording:
    recording_id: str
    state: str
    kind: str
    options: StartRecordingOptions
    at: datetime


def started_entity(started: StartedRecording) -> dict[str, Any]:
    """The entity written when our API starts a recording."""
    call = started.options.call
    return {
        "PartitionKey": recording_partition(started.recording_id),
        "RowKey": _RECORDING_ROW,
        "recordingId": started.recording_id,
        "serverCallId": call.id if call.kind == "serverCallId" else None,
        "callLocatorKind": call.kind,
        "callLocatorId": call.id,
        "kind": started.kind,
        "state": started.state,
        "options": json.dumps(started.options.to_json(), separators=(",", ":")),
        "createdAt": started.at.isoformat(),
        "updatedAt": started.at.isoformat(),
        "stateChanges": "[]",
    }


def apply_event(entity: dict[str, Any] | None, event: RecordingCallbackEvent) -> dict[str, Any] | None:
    """The entity after `event`, or None when the event changes nothing (a duplicate)."""
    current = (
        dict(entity)
        if entity is not None
        else {
            "PartitionKey": recording_partition(event.recording_id),
            "RowKey": _RECORDING_ROW,
            "recordingId": event.recording_id,
            "createdAt": event.time.isoformat(),
            "stateChanges": "[]",
        }
    )
    changes: list[dict[str, Any]] = json.loads(current.get("stateChanges") or "[]")
    if any(change.get("eventId") == event.event_id for change in changes):
        return None
    change: dict[str, Any] = {"state": event.state, "time": event.time.isoformat(), "eventId": event.event_id}
    if event.result is not None:
        change["result"] = event.result.to_json()
    changes.append(change)
    changes.sort(key=lambda item: datetime.fromisoformat(item["time"]))
    current["stateChanges"] = json.dumps(changes[-MAX_STATE_CHANGES:], separators=(",", ":"))
    current["state"] = changes[-1]["state"]
    current["updatedAt"] = changes[-1]["time"]
    if event.server_call_id and not current.get("serverCallId"):
        current["serverCallId"] = event.server_call_id
    if event.is_failure:
        current["lastError"] = json.dumps(
            {"time": event.time.isoformat(), **(event.result.to_json() if event.result else {})},
            separators=(",", ":"),
        )
    return current


def entity_to_json(entity: dict[str, Any]) -> dict[str, Any]:
    """A catalog entity as our API shows it."""
    body: dict[str, Any] = {
        "recordingId": entity.get("recordingId"),
        "serverCallId": entity.get("serverCallId"),
        "state": entity.get("state"),
        "kind": entity.get("kind"),
        "options": json.loads(entity["options"]) if entity.get("options") else None,
        "createdAt": entity.get("createdAt"),
        "updatedAt": entity.get("updatedAt"),
        "stateChanges": json.loads(entity.get("stateChanges") or "[]"),
        "lastError": json.loads(entity["lastError"]) if entity.get("lastError") else None,
        "archive": json.loads(entity["archive"]) if entity.get("archive") else None,
    }
    return body


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    """Drop bookkeeping keys and nulls (Table storage stores no null properties)."""
    return {k: v for k, v in entity.items() if not k.startswith("__") and v is not None}


class Catalog:
    """Reads and writes catalog entities; every write is conditional, so none is lost."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def record_started(self, started: StartedRecording) -> None:
        entity = started_entity(started)
        for _ in range(_ATTEMPTS):
            existing = self._read(started.recording_id)
            if existing is None:
                try:
                    self._table.create_entity(_clean(entity))
                    break
                except ResourceExistsError:
                    continue
            # A callback got here first: keep all it wrote, add what only the start knows.
            start_only = {k: entity[k] for k in ("callLocatorKind", "callLocatorId", "kind", "options")}
            merged = {**existing, **start_only}
            merged["serverCallId"] = existing.get("serverCallId") or entity["serverCallId"]
            if self._replace(merged, existing):
                break
        else:
            raise ResourceModifiedError("catalog entity kept changing; giving up after retries")
        self._index(started.recording_id, entity["serverCallId"])

    def apply(self, event: RecordingCallbackEvent) -> None:
        for _ in range(_ATTEMPTS):
            existing = self._read(event.recording_id)
            updated = apply_event(existing, event)
            if updated is None:
                return
            if existing is None:
                try:
                    self._table.create_entity(_clean(updated))
                except ResourceExistsError:
                    continue
            elif not self._replace(updated, existing):
                continue
            self._index(event.recording_id, updated.get("serverCallId"))
            return
        raise ResourceModifiedError("catalog entity kept changing; giving up after retries")

    def record_archive(self, recording_id: str, archive: dict[str, Any]) -> None:
        """Merge the archive's summary into the recording's entity (created if unknown)."""
        fields = {
            "PartitionKey": recording_partition(recording_id),
            "RowKey": _RECORDING_ROW,
            "recordingId": recording_id,
            "archive": json.dumps(archive, separators=(",", ":")),
        }
        from azure.data.tables import UpdateMode

        self._table.upsert_entity(fields, mode=UpdateMode.MERGE)

    def record_event(self, recording_id: str, event_blob_name: str) -> None:
        """Point the recording's entity at its stored archive event (created if unknown)."""
        from azure.data.tables import UpdateMode

        self._table.upsert_entity(
            {
                "PartitionKey": recording_partition(recording_id),
                "RowKey": _RECORDING_ROW,
                "recordingId": recording_id,
                "archiveEvent": event_blob_name,
            },
            mode=UpdateMode.MERGE,
        )

    def event_of(self, recording_id: str) -> str | None:
        """The blob name of the recording's stored archive event, if one arrived."""
        entity = self._read(recording_id)
        return str(entity["archiveEvent"]) if entity and entity.get("archiveEvent") else None

    def archive_of(self, recording_id: str) -> dict[str, Any] | None:
        entity = self._read(recording_id)
        if entity is None or not entity.get("archive"):
            return None
        archive: dict[str, Any] = json.loads(entity["archive"])
        return archive

    def get(self, recording_id: str) -> dict[str, Any] | None:
        entity = self._read(recording_id)
        return entity_to_json(entity) if entity is not None else None

    def list_for_call(self, server_call_id: str) -> list[dict[str, Any]]:
        rows = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": call_partition(server_call_id)}
        )
        found = []
        for row in rows:
            entry = self.get(str(row["recordingId"]))
            if entry is not None:
                found.append(entry)
        found.sort(key=lambda item: str(item.get("createdAt") or ""))
        return found

    def _read(self, recording_id: str) -> dict[str, Any] | None:
        try:
            entity = self._table.get_entity(recording_partition(recording_id), _RECORDING_ROW)
        except ResourceNotFoundError:
            return None
        if entity.get("recordingId") != recording_id:  # a hash collision: treat as absent
            return None
        result = dict(entity)
        result["__etag"] = entity.metadata["etag"]
        return result

    def _replace(self, updated: dict[str, Any], existing: dict[str, Any]) -> bool:
        from azure.data.tables import UpdateMode

        try:
            self._table.update_entity(
                _clean(updated),
                mode=UpdateMode.REPLACE,
                etag=existing["__etag"],
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            return False
        return True

    def _index(self, recording_id: str, server_call_id: str | None) -> None:
        if not server_call_id:
            return
        self._table.upsert_entity(
            {
                "PartitionKey": call_partition(server_call_id),
                "RowKey": _key(recording_id),
                "recordingId": recording_id,
            }
        )
