"""History events in the JSON shape the Durable extension hands to the out-of-process SDK.

The field names, casing and ``EventType`` integers are the ones
``azure.durable_functions.models.history.HistoryEvent`` parses (``EventType``, ``EventId``,
``IsPlayed``, ``Timestamp`` plus type-specific PascalCase fields such as ``TaskScheduledId``,
``TimerId``, ``FireAt``, ``Result``, ``Reason`` and ``Details``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

Event = dict[str, Any]


class EventType(IntEnum):
    EXECUTION_STARTED = 0
    EXECUTION_COMPLETED = 1
    EXECUTION_FAILED = 2
    EXECUTION_TERMINATED = 3
    TASK_SCHEDULED = 4
    TASK_COMPLETED = 5
    TASK_FAILED = 6
    SUB_ORCHESTRATION_INSTANCE_CREATED = 7
    SUB_ORCHESTRATION_INSTANCE_COMPLETED = 8
    SUB_ORCHESTRATION_INSTANCE_FAILED = 9
    TIMER_CREATED = 10
    TIMER_FIRED = 11
    ORCHESTRATOR_STARTED = 12
    ORCHESTRATOR_COMPLETED = 13
    EVENT_SENT = 14
    EVENT_RAISED = 15
    CONTINUE_AS_NEW = 16
    GENERIC_EVENT = 17
    HISTORY_STATE = 18
    EXECUTION_SUSPENDED = 19
    EXECUTION_RESUMED = 20


# Event types whose EventId is a DTFx sequence number allocated by the orchestration.
SCHEDULING_EVENTS = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TIMER_CREATED,
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
        EventType.EVENT_SENT,
    }
)


def format_time(value: datetime) -> str:
    """ISO-8601 UTC with a trailing ``Z`` (what the extension sends; dateutil parses it)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str) -> datetime:
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event(kind: EventType, timestamp: datetime, event_id: int = -1, **fields: Any) -> Event:
    body: Event = {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": format_time(timestamp),
    }
    body.update({key: value for key, value in fields.items() if value is not None})
    return body


def type_of(evt: Event) -> EventType:
    return EventType(int(evt["EventType"]))


def name_of(kind: EventType) -> str:
    """``TASK_SCHEDULED`` -> ``TaskScheduled`` (how the HTTP status API names event types)."""
    return "".join(part.capitalize() for part in kind.name.split("_"))
