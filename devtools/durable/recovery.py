"""What a restarted engine must resume: work the history scheduled but never saw answered."""

from __future__ import annotations

from devtools.durable import history as h
from devtools.durable.history import EventType
from devtools.durable.store import InstanceRecord

_ANSWERS = (
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
    EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
)


def answered_task_ids(record: InstanceRecord) -> set[int]:
    """Ids of the tasks and timers whose answer is in the history or waiting in the inbox."""
    done: set[int] = set()
    for evt in record.history + record.inbox:
        kind = h.type_of(evt)
        if kind in _ANSWERS:
            done.add(int(evt["TaskScheduledId"]))
        elif kind == EventType.TIMER_FIRED:
            done.add(int(evt["TimerId"]))
    return done
