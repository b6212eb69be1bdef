"""The Durable side of the local host: an engine whose instance state lives in Table storage, and
whose orchestrators and activities run in the Python worker, as the Durable extension has the
worker run them.

With `AzureWebJobsStorage` pointing at Azurite (or a real account), orchestrations survive a host
restart: the engine re-runs unfinished work on start, as the Durable extension does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from pathlib import Path

from devtools.durable import DurableEngine, InMemoryStore, InstanceStore, TableStore
from devtools.durable.runners import ActivityAnswer, OrchestratorAnswer, failed_activity, failed_episode
from devtools.pyworker.channel import WorkerGoneError, WorkerProcess

log = logging.getLogger("devhost")
INSTANCES_TABLE = "DevhostDurableInstances"


class WorkerRunner:
    """Orchestrator episodes and activities as invocations of the worker.

    The extension hands an orchestrator its context as a string (OrchestrationTriggerAttributeBindingProvider:
    `OrchestrationContextToString`) and takes the SDK's state back as the implicit return value; an
    activity gets its serialized input and returns its serialized result. The worker's converters
    (azure.functions.durable_functions) decode and encode both; a raised exception fails the invocation.
    """

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self._triggers = {
            name: (function.trigger_type, str(function.trigger.get("name", "")))
            for name, function in worker.functions.items()
        }

    @property
    def orchestrators(self) -> Collection[str]:
        return [name for name, (kind, _) in self._triggers.items() if kind == "orchestrationTrigger"]

    @property
    def activities(self) -> Collection[str]:
        return [name for name, (kind, _) in self._triggers.items() if kind == "activityTrigger"]

    def orchestrate(self, name: str, context: str) -> OrchestratorAnswer:
        try:
            result = self.worker.invoke(name, [(self._triggers[name][1], {"string": context})])
        except WorkerGoneError as gone:
            return OrchestratorAnswer({}, str(gone))
        if not result.ok:
            return failed_episode(result.exception_text)
        returned = result.return_value or {}
        state = json.loads(returned.get("json") or returned.get("string") or "{}")
        return OrchestratorAnswer(state if isinstance(state, dict) else {})

    def run_activity(self, name: str, payload: str | None) -> ActivityAnswer:
        try:
            result = self.worker.invoke(name, [(self._triggers[name][1], {"json": payload or "null"})])
        except WorkerGoneError as gone:
            return failed_activity(name, f"WorkerGoneError: {gone}", "WorkerGoneError", "")
        if not result.ok:
            text = result.exception_text
            return failed_activity(name, text, text.split(":", 1)[0], result.traceback or "")
        returned = result.return_value or {}
        return ActivityAnswer(result=returned.get("json") if "json" in returned else json.dumps(None))


def durable_engine(
    worker: WorkerProcess,
    *,
    storage: str | None,
    host_json: Path,
    workers: int = 4,
    table: str = INSTANCES_TABLE,
    time_scale: float = 1.0,
) -> DurableEngine:
    """An engine for the worker's app, persisted in `storage` when given (else in memory, with a warning)."""
    store: InstanceStore
    if storage:
        store = TableStore(storage, table)
    else:
        log.warning("AzureWebJobsStorage is not set: orchestrations are kept in memory only")
        store = InMemoryStore()
    return DurableEngine(
        store=store,
        host_json=host_json,
        activity_workers=workers,
        time_scale=time_scale,
        runner=WorkerRunner(worker),
    )


def has_durable_functions(worker: WorkerProcess) -> bool:
    kinds = {"orchestrationTrigger", "activityTrigger", "durableClient"}
    return any(
        binding.get("type") in kinds
        for function in worker.functions.values()
        for binding in function.bindings
    )
