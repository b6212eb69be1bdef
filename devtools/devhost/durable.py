"""The Durable side of the local host: an engine whose instance state lives in Table storage.

With `AzureWebJobsStorage` pointing at Azurite (or a real account), orchestrations survive a host
restart: the engine re-runs unfinished work on start, as the Durable extension does.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from devtools.durable import DurableEngine, InMemoryStore, InstanceStore, TableStore

log = logging.getLogger("devhost")
INSTANCES_TABLE = "DevhostDurableInstances"


def durable_engine(
    functions: list[Any], *, storage: str | None, host_json: Path, workers: int = 4
) -> DurableEngine:
    """An engine for `functions`, persisted in `storage` when given (else in memory, with a warning)."""
    store: InstanceStore
    if storage:
        store = TableStore(storage, INSTANCES_TABLE)
    else:
        log.warning("AzureWebJobsStorage is not set: orchestrations are kept in memory only")
        store = InMemoryStore()
    return DurableEngine(functions, store=store, host_json=host_json, activity_workers=workers)


def has_durable_functions(functions: list[Any]) -> bool:
    kinds = {"orchestrationTrigger", "activityTrigger", "durableClient"}
    return any(binding.type in kinds for function in functions for binding in function.get_bindings())
