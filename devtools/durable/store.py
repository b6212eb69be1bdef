"""Instance stores: one small interface, in memory (tests) and Azure Table storage (Azurite, restarts).

Both make *check-and-create* atomic (:meth:`InstanceStore.create`) and every update conditional on
the version read (:meth:`InstanceStore.update`, an ETag for Table storage), so a stale writer loses
instead of clobbering. Atomic creation is stricter than the Azure Storage backend, whose start
checks and then writes: the engine's ``atomic_create=False`` plays that, letting two racing starts of
one id both run, which is what the app must survive.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from devtools.durable.history import Event

PENDING = "Pending"
RUNNING = "Running"
COMPLETED = "Completed"
FAILED = "Failed"
TERMINATED = "Terminated"
CONTINUED_AS_NEW = "ContinuedAsNew"
TERMINAL = frozenset({COMPLETED, FAILED, TERMINATED})


@dataclass
class InstanceRecord:
    instance_id: str
    name: str
    execution_id: str
    input: str | None  # the serialized JSON the orchestrator gets (context.get_input() decodes it)
    status: str
    created: str
    last_updated: str
    custom_status: Any = None
    output: Any = None
    history: list[Event] = field(default_factory=list)
    inbox: list[Event] = field(default_factory=list)  # delivered, not yet processed by an episode
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_task_id: int | None = None
    etag: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "custom_status": self.custom_status,
            "output": self.output,
            "history": self.history,
            "inbox": self.inbox,
            "parent": [self.parent_instance_id, self.parent_execution_id, self.parent_task_id],
        }


class InstanceExistsError(Exception):
    def __init__(self, instance_id: str, status: str) -> None:
        super().__init__(f"An Orchestration instance with the status {status} already exists.")
        self.instance_id = instance_id
        self.status = status


class ConcurrencyError(Exception):
    """The record changed since it was read (ETag mismatch) or disappeared."""


class InstanceStore(Protocol):
    def create(self, record: InstanceRecord, refuse_statuses: Iterable[str]) -> InstanceRecord:
        """Insert, or replace an existing record unless its status is in ``refuse_statuses``.

        Raises :class:`InstanceExistsError` when refused. Atomic with respect to concurrent calls.
        """
        ...

    def get(self, instance_id: str) -> InstanceRecord | None: ...

    def update(self, record: InstanceRecord) -> InstanceRecord:
        """Replace the record if unchanged since read (``record.etag``), else :class:`ConcurrencyError`."""
        ...

    def delete(self, instance_id: str) -> bool: ...

    def list(self) -> list[InstanceRecord]: ...


class InMemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, InstanceRecord] = {}

    def create(self, record: InstanceRecord, refuse_statuses: Iterable[str]) -> InstanceRecord:
        refused = set(refuse_statuses)
        with self._lock:
            existing = self._records.get(record.instance_id)
            if existing is not None and existing.status in refused:
                raise InstanceExistsError(record.instance_id, existing.status)
            return self._put(record)

    def _put(self, record: InstanceRecord) -> InstanceRecord:
        stored = copy.deepcopy(record)
        stored.etag = uuid.uuid4().hex
        self._records[record.instance_id] = stored
        return copy.deepcopy(stored)

    def get(self, instance_id: str) -> InstanceRecord | None:
        with self._lock:
            record = self._records.get(instance_id)
            return copy.deepcopy(record) if record is not None else None

    def update(self, record: InstanceRecord) -> InstanceRecord:
        with self._lock:
            existing = self._records.get(record.instance_id)
            if existing is None or existing.etag != record.etag:
                raise ConcurrencyError(record.instance_id)
            return self._put(record)

    def delete(self, instance_id: str) -> bool:
        with self._lock:
            return self._records.pop(instance_id, None) is not None

    def list(self) -> list[InstanceRecord]:
        with self._lock:
            return [copy.deepcopy(record) for record in self._records.values()]


_CHUNK = 60_000  # bytes per binary property (Table storage: at most 64 KiB per property)
_ROW = "instance"


class TableStore:
    """Azure Table storage (``azure-data-tables``): one entity per instance, the payload as
    zlib-compressed JSON in binary properties.

    An entity holds at most 1 MiB. Histories compress well (measured: a 256-chunk archive's 976 kB
    of history is 58 kB), so an archive of 1,000 chunks, the most an event may carry (~3.8 MB of
    history), fits with room to spare. (The real Azure
    Storage backend keeps one row per history event and large messages in blobs, so it has no such
    limit; uncompressed JSON here stalled a 256-chunk archive at 248 chunks, with EntityTooLarge.)
    """

    def __init__(self, connection_string: str, table_name: str = "DurableInstances") -> None:
        from azure.data.tables import TableServiceClient

        self._service = TableServiceClient.from_connection_string(connection_string)
        self._table = self._service.create_table_if_not_exists(table_name)

    @staticmethod
    def _to_entity(record: InstanceRecord) -> dict[str, Any]:
        blob = zlib.compress(json.dumps(record.payload(), separators=(",", ":")).encode(), 6)
        chunks = [blob[i : i + _CHUNK] for i in range(0, len(blob), _CHUNK)]
        entity: dict[str, Any] = {
            "PartitionKey": record.instance_id,
            "RowKey": _ROW,
            "Name": record.name,
            "ExecutionId": record.execution_id,
            "RuntimeStatus": record.status,
            "CreatedTime": record.created,
            "LastUpdatedTime": record.last_updated,
            "Chunks": len(chunks),
        }
        for index, chunk in enumerate(chunks):
            entity[f"Payload{index}"] = chunk
        return entity

    @staticmethod
    def _from_entity(entity: Any) -> InstanceRecord:
        blob = b"".join(bytes(entity[f"Payload{i}"]) for i in range(int(entity["Chunks"])))
        payload = json.loads(zlib.decompress(blob))
        parent_id, parent_execution, parent_task = payload.get("parent") or [None, None, None]
        return InstanceRecord(
            instance_id=entity["PartitionKey"],
            name=entity["Name"],
            execution_id=entity["ExecutionId"],
            input=payload["input"],
            status=entity["RuntimeStatus"],
            created=entity["CreatedTime"],
            last_updated=entity["LastUpdatedTime"],
            custom_status=payload["custom_status"],
            output=payload["output"],
            history=payload["history"],
            inbox=payload["inbox"],
            parent_instance_id=parent_id,
            parent_execution_id=parent_execution,
            parent_task_id=parent_task,
            etag=entity.metadata.get("etag"),
        )

    def create(self, record: InstanceRecord, refuse_statuses: Iterable[str]) -> InstanceRecord:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceExistsError
        from azure.data.tables import UpdateMode

        refused = set(refuse_statuses)
        entity = self._to_entity(record)
        for _ in range(50):
            try:
                metadata = self._table.create_entity(entity)  # conditional insert: fails if it exists
                return self._stamped(record, metadata)
            except ResourceExistsError:
                existing = self.get(record.instance_id)
                if existing is None:
                    continue
                if existing.status in refused:
                    raise InstanceExistsError(record.instance_id, existing.status) from None
                try:
                    metadata = self._table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=existing.etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                    return self._stamped(record, metadata)
                except HttpResponseError as error:
                    if error.status_code in (404, 412):
                        continue  # somebody else won the race: look again
                    raise
        raise ConcurrencyError(record.instance_id)

    @staticmethod
    def _stamped(record: InstanceRecord, metadata: Any) -> InstanceRecord:
        stamped = copy.deepcopy(record)
        stamped.etag = metadata.get("etag") if isinstance(metadata, dict) else None
        return stamped

    def get(self, instance_id: str) -> InstanceRecord | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return self._from_entity(self._table.get_entity(instance_id, _ROW))
        except ResourceNotFoundError:
            return None

    def update(self, record: InstanceRecord) -> InstanceRecord:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError
        from azure.data.tables import UpdateMode

        try:
            metadata = self._table.update_entity(
                self._to_entity(record),
                mode=UpdateMode.REPLACE,
                etag=record.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except HttpResponseError as error:
            if error.status_code in (404, 412):
                raise ConcurrencyError(record.instance_id) from error
            raise
        return self._stamped(record, metadata)

    def delete(self, instance_id: str) -> bool:
        existed = self.get(instance_id) is not None
        self._table.delete_entity(instance_id, _ROW)
        return existed

    def list(self) -> list[InstanceRecord]:
        return [self._from_entity(entity) for entity in self._table.list_entities()]

    def close(self) -> None:
        self._table.close()
        self._service.close()
