"""The recording catalog in Azure Table storage: options, state changes, last error.

Entity keys are hashes of the ids because ACS ids are base64 and may contain '/', which Table
storage forbids in keys. The recording itself is `rec-<hash(recordingId)>` / `recording`; the index
rows that answer queries by time, state, archive status and call share the table (catalog_index.py).

The recording wing owns the entity's recording fields; other wings add fields of their own through
`Catalog.update` (the archive wing's are in shared.archive.records), and this module does not know
what they mean: only that `archiveStatus` is a word the index files the recording under.

Callbacks may arrive concurrently and out of order: updates are optimistic (ETag) with retries,
events are de-duplicated by CloudEvent id, and `state` follows the latest event *time*.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from shared import telemetry
from shared.events.catalogue import Announcement, EventType
from shared.events.observed import observed
from shared.events.outbox import SEQUENCE_FIELD, Outbox, hint_row
from shared.recording.callback_events import RecordingCallbackEvent
from shared.recording.catalog_index import (
    MAX_PAGE_SIZE,
    UNSETTLED_INACTIVE,
    CatalogQuery,
    index_keys,
    matches,
    since_partition,
)
from shared.recording.options import StartRecordingOptions

if TYPE_CHECKING:
    from azure.data.tables import TableClient

MAX_STATE_CHANGES: Final = 200
_ATTEMPTS: Final = 8
_RECORDING_ROW: Final = "recording"
# What the entity's writer decides to tell (shared.events), from the entity before and after its change.
Announce = Callable[[dict[str, Any] | None, dict[str, Any]], Sequence[Announcement]]


def _key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def recording_partition(recording_id: str) -> str:
    """The recording entity's partition: a hash, since ACS ids may hold `/`, which keys may not."""
    return f"rec-{_key(recording_id)}"


@dataclass(frozen=True)
class StartedRecording:
    """What the catalog keeps of a start: the id ACS gave, its state and kind, and the options used."""

    recording_id: str
    state: str
    kind: str
    options: StartRecordingOptions
    at: datetime
    policy_rule: str | None = None  # the recording policy's rule that started it; None: our API did


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
        "policyRule": started.policy_rule,
    }


def started_announcement(started: StartedRecording) -> Announcement:
    """`CallRecording.Recording.Started`: the one place both ways of starting (our route, a call
    policy) announce a start, since both record it here."""
    options = started.options
    data: dict[str, Any] = {
        "state": started.state,
        "kind": started.kind,
        "call": {"kind": options.call.kind, "id": options.call.id},
    }
    for key, value in (
        ("content", options.content),
        ("channel", options.channel),
        ("format", options.format),
        ("pauseOnStart", options.pause_on_start),
    ):
        if value is not None:
            data[key] = value
    return Announcement(EventType.RECORDING_STARTED, started.at.isoformat(), data)


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
        "policyRule": entity.get("policyRule"),
    }
    return body


def index_rows(entity: dict[str, Any]) -> list[dict[str, Any]]:
    """The index rows `entity` needs (catalog_index.index_keys), as the catalog writes them: each names
    its recording, so a reader can check the row against the entity."""
    return [
        {
            "PartitionKey": partition,
            "RowKey": row,
            "recordingId": entity["recordingId"],
            "createdAt": entity.get("createdAt"),
        }
        for partition, row in sorted(index_keys(entity))
    ]


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    """Drop bookkeeping keys and nulls (Table storage stores no null properties)."""
    return {k: v for k, v in entity.items() if not k.startswith("__") and v is not None}


def read_entity(
    table: TableClient, keys: tuple[str, str], id_field: str, id_value: str
) -> dict[str, Any] | None:
    """The entity at `keys` (with its ETag as `__etag`) if its `id_field` is `id_value`, else None: keys
    are hashes of ids, and a hash collision is treated as absent."""
    try:
        entity = table.get_entity(*keys)
    except ResourceNotFoundError:
        return None
    if entity.get(id_field) != id_value:
        return None
    found = dict(entity)
    found["__etag"] = entity.metadata["etag"]
    return found


def create_entity(table: TableClient, entity: dict[str, Any]) -> bool:
    """Create `entity`; False when one with its keys exists (Table storage refuses a second create)."""
    try:
        table.create_entity(_clean(entity))
    except ResourceExistsError:
        return False
    return True


def replace_unchanged(table: TableClient, entity: dict[str, Any], etag: str) -> bool:
    """Replace the entity if it is still the version `etag` names; False when someone wrote since."""
    from azure.data.tables import UpdateMode

    try:
        table.update_entity(
            _clean(entity), mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
        )
    except (ResourceModifiedError, ResourceNotFoundError):
        return False
    return True


class Catalog:
    """Reads and writes catalog entities; every write is conditional, so none is lost. After each write
    the entity's index rows (shared/recording/catalog_index.py) are brought in line with it."""

    def __init__(self, table: TableClient, outbox: Outbox | None = None) -> None:
        self._table = table
        self._outbox = outbox  # None: no topic, so no event is kept (lifecycle records are still logged)

    def record_started(self, started: StartedRecording) -> None:
        entity = started_entity(started)
        announced = (started_announcement(started),)
        with telemetry.span(telemetry.CATALOG_WRITE, recording_id=started.recording_id, change="started"):
            for _ in range(_ATTEMPTS):
                existing = self.read(started.recording_id)
                if existing is None:
                    if self._commit(None, entity, announced):
                        return
                    continue
                # A callback got here first: keep all it wrote, add what only the start knows.
                start_only = {
                    k: entity[k]
                    for k in ("callLocatorKind", "callLocatorId", "kind", "options", "policyRule")
                }
                merged = {**existing, **start_only}
                merged["serverCallId"] = existing.get("serverCallId") or entity["serverCallId"]
                if self._commit(existing, merged, () if existing.get("options") else announced):
                    return
        raise ResourceModifiedError("catalog entity kept changing; giving up after retries")

    def apply(self, event: RecordingCallbackEvent) -> None:
        with telemetry.span(telemetry.CATALOG_WRITE, recording_id=event.recording_id, change="callback"):
            for _ in range(_ATTEMPTS):
                existing = self.read(event.recording_id)
                updated = apply_event(existing, event)
                if updated is None:
                    return
                if self._commit(existing, updated, ()):
                    return
        raise ResourceModifiedError("catalog entity kept changing; giving up after retries")

    def update(
        self,
        recording_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        created_at: str | None = None,
        create: bool = True,
        announce: Announce | None = None,
    ) -> bool:
        """Set the fields `change(entity)` returns, conditionally (ETag), retried on a concurrent write;
        `change` sees the entity as it is now and returns nothing when there is nothing to do. An
        unknown recording is created dated `created_at`, unless `create` is off. True if written.
        `announce(before, after)` names the lifecycle events the change makes: they are kept in the
        same transaction as the change (shared.events.outbox), so one is never without the other."""
        with telemetry.span(telemetry.CATALOG_WRITE, recording_id=recording_id, change="update"):
            for _ in range(_ATTEMPTS):
                existing = self.read(recording_id)
                if existing is None:
                    if not create:
                        return False
                    fresh = {
                        "PartitionKey": recording_partition(recording_id),
                        "RowKey": _RECORDING_ROW,
                        "recordingId": recording_id,
                        "stateChanges": "[]",
                        **({"createdAt": created_at} if created_at else {}),
                    }
                    fields = change(fresh)
                    if not fields:
                        return False
                    updated = {**fresh, **fields}
                else:
                    fields = change(existing)
                    if not fields:
                        return False
                    updated = {**existing, **fields}
                    if not updated.get("createdAt") and created_at:
                        updated["createdAt"] = created_at
                announced = announce(existing, updated) if announce else ()
                if self._commit(existing, updated, announced):
                    return True
        raise ResourceModifiedError("catalog entity kept changing; giving up after retries")

    def get(self, recording_id: str) -> dict[str, Any] | None:
        entity = self.read(recording_id)
        return entity_to_json(entity) if entity is not None else None

    def query(self, query: CatalogQuery, token: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of entries, newest first, and the token for the next page (None: no more)."""
        partitions = query.partitions()
        resumed = query.resume(token)
        first, after = (partitions.index(resumed[0]), resumed[1]) if resumed else (0, None)
        low, high = query.row_range()
        entries: list[dict[str, Any]] = []
        for position in range(first, len(partitions)):
            partition = partitions[position]
            conditions, parameters = ["PartitionKey eq @pk"], {"pk": partition}
            for name, operator, value in (("after", "gt", after), ("low", "ge", low), ("high", "lt", high)):
                if value is not None:
                    conditions.append(f"RowKey {operator} @{name}")
                    parameters[name] = value
            rows = self._table.query_entities(
                " and ".join(conditions), parameters=parameters, results_per_page=query.page_size
            )
            for row in rows:
                entity = self.read(str(row.get("recordingId") or ""))
                if entity is not None and matches(query.kind, query.value, entity):
                    entries.append(entity_to_json(entity))
                if len(entries) == query.page_size:
                    return entries, query.token(partition, str(row["RowKey"]))
            after = None
        return entries, None

    def inactive_without_archive_status(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to `limit` entities (as stored) whose last state is `inactive` and that have no archive
        status, newest first: paused recordings and stops the catalog was not told of. One read of a
        partition that holds only those, however large the catalog."""
        rows = self._table.query_entities(
            "PartitionKey eq @pk", parameters={"pk": UNSETTLED_INACTIVE}, results_per_page=min(limit, 1000)
        )
        found: list[dict[str, Any]] = []
        for row in rows:
            entity = self.read(str(row.get("recordingId") or ""))
            if entity is not None and (UNSETTLED_INACTIVE, str(row["RowKey"])) in index_keys(entity):
                found.append(entity)
            if len(found) == limit:
                break
        return found

    def oldest_in_archive_status(
        self,
        status: str,
        *,
        entered_before: datetime | None = None,
        entered_after: datetime | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """Up to `limit` entries in archive status `status`, the longest there first; with
        `entered_before` (`entered_after`), only those that entered it before (at or after) then.
        One range read of the `w-` index: its cost grows with what it returns, not with the catalog."""
        conditions, parameters = ["PartitionKey eq @pk"], {"pk": since_partition(status)}
        for name, operator, moment in (("before", "lt", entered_before), ("after", "ge", entered_after)):
            if moment is not None:
                conditions.append(f"RowKey {operator} @{name}")
                parameters[name] = f"{int(moment.timestamp() * 1000):013d}"
        rows = self._table.query_entities(
            " and ".join(conditions), parameters=parameters, results_per_page=min(limit, MAX_PAGE_SIZE)
        )
        found: list[dict[str, Any]] = []
        for row in rows:
            entity = self.read(str(row.get("recordingId") or ""))
            if entity is not None and (
                since_partition(str(entity.get("archiveStatus"))),
                str(row["RowKey"]),
            ) in (index_keys(entity)):
                found.append(entity_to_json(entity))
            if len(found) == limit:
                break
        return found

    def count(self, query: CatalogQuery) -> int:
        """How many index rows answer `query` (its partitions and time range), without reading the
        entities: a count, not a listing. A row whose entity just moved on may be counted until its
        writer removes it, a moment later."""
        low, high = query.row_range()
        total = 0
        for partition in query.partitions():
            conditions, parameters = ["PartitionKey eq @pk"], {"pk": partition}
            for name, operator, value in (("low", "ge", low), ("high", "lt", high)):
                if value is not None:
                    conditions.append(f"RowKey {operator} @{name}")
                    parameters[name] = value
            rows = self._table.query_entities(
                " and ".join(conditions), parameters=parameters, select=["RowKey"]
            )
            total += sum(1 for _ in rows)
        return total

    def read(self, recording_id: str) -> dict[str, Any] | None:
        """The recording's entity as stored (with its ETag as `__etag`), or None."""
        if not recording_id:
            return None
        return read_entity(
            self._table, (recording_partition(recording_id), _RECORDING_ROW), "recordingId", recording_id
        )

    def _commit(
        self, existing: dict[str, Any] | None, updated: dict[str, Any], announced: Sequence[Announcement]
    ) -> bool:
        """Create `updated` (no `existing`) or replace `existing` with it under its ETag, with the outbox
        rows of `announced` in the same transaction; then its index rows, and the lifecycle records.
        False when another writer got there first (the caller reads again and retries)."""
        recording_id = str(updated["recordingId"])
        outbox = self._outbox if announced else None
        if outbox is None:
            written = self._create(updated) if existing is None else self._replace(updated, existing)
        else:
            written = self._commit_with_events(existing, updated, announced, outbox)
        if not written:
            return False
        self._reindex(existing, updated)
        observed(recording_id, announced)
        if outbox is not None:
            outbox.on_written(recording_partition(recording_id))
        return True

    def _commit_with_events(
        self,
        existing: dict[str, Any] | None,
        updated: dict[str, Any],
        announced: Sequence[Announcement],
        outbox: Outbox,
    ) -> bool:
        from azure.data.tables import TableTransactionError, UpdateMode

        recording_id = str(updated["recordingId"])
        partition = recording_partition(recording_id)
        first = int((existing or {}).get(SEQUENCE_FIELD) or 0) + 1
        rows = outbox.rows(partition, recording_id, first, announced)
        updated[SEQUENCE_FIELD] = first + len(rows) - 1
        # The hint first: once the transaction commits, the timer can always find its rows.
        self._table.upsert_entity(hint_row(partition, recording_id, datetime.now(UTC)))
        entity = _clean(updated)
        operations: list[Any] = (
            [("create", entity)]
            if existing is None
            else [
                (
                    "update",
                    entity,
                    {
                        "mode": UpdateMode.REPLACE,
                        "etag": existing["__etag"],
                        "match_condition": MatchConditions.IfNotModified,
                    },
                )
            ]
        )
        operations += [("create", row) for row in rows]
        try:
            self._table.submit_transaction(operations)
        except TableTransactionError as error:
            if error.status_code in (404, 409, 412):  # moved, created or changed meanwhile: read again
                return False
            raise
        return True

    def _create(self, entity: dict[str, Any]) -> bool:
        try:
            self._table.create_entity(_clean(entity))
        except ResourceExistsError:
            return False
        return True

    def _replace(self, updated: dict[str, Any], existing: dict[str, Any]) -> bool:
        return replace_unchanged(self._table, updated, existing["__etag"])

    def _reindex(self, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        """Write the index rows `after` needs, then delete those only `before` had (readers skip stale)."""
        for wanted in index_rows(after):
            self._table.upsert_entity(wanted)
        for partition, row_key in sorted(index_keys(before or {}) - index_keys(after)):
            with contextlib.suppress(ResourceNotFoundError):
                self._table.delete_entity(partition, row_key)
