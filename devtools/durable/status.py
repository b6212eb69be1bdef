"""An instance's status as the Durable HTTP API answers it (what `DurableOrchestrationClient` reads)."""

from __future__ import annotations

from typing import Any

from devtools.durable import history as h
from devtools.durable.store import InstanceRecord


def status_of(record: InstanceRecord, *, show_history: bool, show_input: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": record.name,
        "instanceId": record.instance_id,
        "runtimeStatus": record.status,
        "input": record.input if show_input else None,
        "customStatus": record.custom_status,
        "output": record.output,
        "createdTime": record.created[:19] + "Z",
        "lastUpdatedTime": record.last_updated[:19] + "Z",
    }
    if show_history:
        status["historyEvents"] = [
            {
                "EventType": h.name_of(h.type_of(e)),
                **{k: v for k, v in e.items() if k not in ("EventType", "IsPlayed")},
            }
            for e in record.history
        ]
        status["history"] = record.history
    return status
