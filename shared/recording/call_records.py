"""The catalog's record of a call: what the recording policy decided for it, and when it ended.

One entity per call in the catalog table (`call-<hash(serverCallId)>` / `call`), beside the
recordings. It is how a call is recorded exactly once, however often and concurrently Event Grid
delivers its CallStarted: the first delivery *creates* the entity (Table storage refuses a second
create, so exactly one delivery wins the claim), and every later change is a conditional (ETag)
write read and made under one ETag. It is also the audit trail `GET /api/recordings?serverCallId=`
shows as `call`: which rule started the recording, or that no rule matched and why, or why the
start failed, how often it was tried and when it is tried next.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import ResourceModifiedError

from shared.clients import table_client
from shared.recording.call_events import CallEvent
from shared.recording.catalog import create_entity, read_entity, replace_unchanged
from shared.recording.catalog_index import key_hash
from shared.settings import Settings
from shared.wire import Wire

if TYPE_CHECKING:
    from azure.data.tables import TableClient

_ROW: Final = "call"
_ATTEMPTS: Final = 8
_DECISION: Final = "autoRecording"


class Outcome(StrEnum):
    """Where the policy's decision for a call stands."""

    NO_RULE_MATCHED = "noRuleMatched"  # not recorded: `reason` says why
    STARTING = "starting"  # a start is in flight (attempt `attempts`)
    STARTED = "started"  # ACS started `recordingId` (by rule `rule`)
    ALREADY_RECORDING = "alreadyRecording"  # ACS answered that the call is being recorded: success
    RETRYING = "retrying"  # the last attempt failed (`lastError`); the next is at `nextAttemptAt`
    FAILED = "failed"  # given up: ACS refused the options, or retries ran past the limit
    CALL_ENDED = "callEnded"  # the call ended before a recording started


# Nothing more is done for a call whose decision is one of these.
SETTLED: Final = frozenset(
    {Outcome.NO_RULE_MATCHED, Outcome.STARTED, Outcome.ALREADY_RECORDING, Outcome.FAILED, Outcome.CALL_ENDED}
)


@dataclass(frozen=True)
class Decision(Wire):
    """The policy's decision for one call, as the catalog keeps it (JSON in camelCase)."""

    outcome: Outcome
    at: str  # when it was last changed
    rule: str | None = None
    policy_version: str | None = None  # the policy's ETag when it was evaluated
    reason: str | None = None
    recording_id: str | None = None
    attempts: int = 0
    attempt_at: str | None = None  # when the current attempt was first sent (Repeatability-First-Sent)
    first_attempt_at: str | None = None
    last_error: str | None = None
    next_attempt_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """camelCase, by the one codec; fields without a value left out."""
        return {key: value for key, value in super().to_json().items() if value is not None}


def call_partition(server_call_id: str) -> str:
    return f"call-{key_hash(server_call_id)}"


def call_entity(call: CallEvent) -> dict[str, Any]:
    """A new call entity with what the event says of the call."""
    return {
        "PartitionKey": call_partition(call.server_call_id),
        "RowKey": _ROW,
        "serverCallId": call.server_call_id,
        "correlationId": call.correlation_id,
        "callKind": call.kind,
        "groupId": call.group_id,
        "roomId": call.room_id,
        "startedBy": call.started_by,
    }


def decision_of(entity: dict[str, Any] | None) -> Decision | None:
    raw = (entity or {}).get(_DECISION)
    return Decision.from_json(json.loads(raw)) if raw else None


def decision_fields(decision: Decision) -> dict[str, Any]:
    return {_DECISION: json.dumps(decision.to_json(), separators=(",", ":"))}


def call_to_json(entity: dict[str, Any]) -> dict[str, Any]:
    """A call entity as the API shows it."""
    decision = decision_of(entity)
    body = {
        key: entity.get(key)
        for key in (
            "serverCallId",
            "correlationId",
            "callKind",
            "groupId",
            "roomId",
            "startedBy",
            "startedAt",
            "endedAt",
            "endedBy",
            "endReason",
            "durationSeconds",
        )
    }
    body["autoRecording"] = decision.to_json() if decision else None
    return body


class CallRecords:
    """Reads and writes call entities; every write is a create or a conditional replace."""

    def __init__(self, table: TableClient) -> None:
        self._table = table

    def read(self, server_call_id: str) -> dict[str, Any] | None:
        """The call's entity (with its ETag as `__etag`), or None."""
        return read_entity(
            self._table, (call_partition(server_call_id), _ROW), "serverCallId", server_call_id
        )

    def create(self, entity: dict[str, Any]) -> bool:
        """Create the entity; False when the call already has one (another delivery won)."""
        return create_entity(self._table, entity)

    def update(
        self,
        server_call_id: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        create_from: CallEvent | None = None,
    ) -> dict[str, Any] | None:
        """Set the fields `change(entity)` returns, conditionally (ETag), retried on a concurrent
        write; `change` sees the entity as it is now and returns nothing when there is nothing to do.
        An unknown call is created from `create_from`'s facts, or left alone without it. Returns the
        entity this call wrote, or None when it wrote nothing."""
        for _ in range(_ATTEMPTS):
            existing = self.read(server_call_id)
            if existing is not None:
                base = existing
            elif create_from is not None:
                base = call_entity(create_from)
            else:
                return None
            updates = change(base)
            if not updates:
                return None
            written = {**base, **updates}
            if existing is None:
                if self.create(written):
                    return written
                continue
            if self._replace(written, existing["__etag"]):
                return written
        raise ResourceModifiedError("call entity kept changing; giving up after retries")

    def _replace(self, entity: dict[str, Any], etag: str) -> bool:
        return replace_unchanged(self._table, entity, etag)


def call_records(settings: Settings) -> CallRecords:
    """The call records, over the worker's cached catalog table client (shared.clients)."""
    return CallRecords(table_client(settings.storage, settings.catalog_table))


def mark_call_ended(settings: Settings, call: CallEvent) -> bool:
    """CallEnded: the call is over (kept once; a redelivery changes nothing). From now on no
    recording is started for it and its retries stop. True if this delivery wrote it."""

    def ended(entity: dict[str, Any]) -> dict[str, Any]:
        if entity.get("endedAt"):
            return {}
        return {
            "endedAt": call.time.isoformat(),
            "endedBy": call.ended_by,
            "endReason": call.end_reason,
            "durationSeconds": call.duration_s,
        }

    return call_records(settings).update(call.server_call_id, ended, create_from=call) is not None


def call_entry(settings: Settings, server_call_id: str) -> dict[str, Any] | None:
    """The call as the API shows it (what the policy decided, when it ended), or None."""
    entity = call_records(settings).read(server_call_id)
    return call_to_json(entity) if entity is not None else None
