"""A local Durable Functions engine: runs the app's real orchestrators under replay, activities on a pool.

Each orchestration *episode* is what the Durable extension does per work item: take the instance's
history plus the newly delivered events, add ``OrchestratorStarted``, build the JSON body the
extension sends, have the runner call the SDK's own orchestrator entry point (the ``handle`` the
Python worker calls: in this process, or through the worker itself for the local host,
:mod:`devtools.durable.runners`), then replay the returned actions the way the extension/DTFx do
(:mod:`devtools.durable.shim`) to find new work, append the resulting history and commit it, and
only then dispatch activities and timers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from azure.functions.durable_functions import ActivityTriggerConverter

from devtools.durable import history as h
from devtools.durable.clock import Clock, read_overridable_states
from devtools.durable.history import Event, EventType
from devtools.durable.recovery import answered_task_ids
from devtools.durable.runners import FunctionRunner, InProcessRunner, failed_activity
from devtools.durable.shim import NonDeterminismError, Replayer, Scheduled, UnsupportedActionError
from devtools.durable.status import status_of
from devtools.durable.store import (
    COMPLETED,
    CONTINUED_AS_NEW,
    FAILED,
    PENDING,
    RUNNING,
    TERMINAL,
    TERMINATED,
    ConcurrencyError,
    InMemoryStore,
    InstanceExistsError,
    InstanceRecord,
    InstanceStore,
)
from devtools.durable.timers import TimerQueue

log = logging.getLogger(__name__)

# Extension: OverridableStates.NonRunningStates -> these statuses are not overwritten by a new start.
NON_RUNNING_DEDUPE = (PENDING, RUNNING, CONTINUED_AS_NEW)


# What the extension sends an out-of-process orchestrator besides its history (azure-functions-durable-
# extension, OrchestrationTriggerAttributeBindingProvider.OrchestrationContextToString):
# the schema versions (OutOfProcOrchestrationShim.SchemaVersion: V2 = 1, V3 = 2) and, from the Azure
# Storage backend (AzureStorageDurabilityProvider: MaximumDelayTime 6 days, LongRunningTimerIntervalLength
# 3 days, as .NET TimeSpan text), the timer limits with which the Python SDK splits a longer timer
# into intervals (DurableOrchestrationContext.create_timer -> LongTimerTask); HttpOptions' default
# async polling interval.
EXTENSION_CONTEXT_FIELDS: dict[str, Any] = {
    "upperSchemaVersion": 1,
    "upperSchemaVersionNew": 2,
    "longRunningTimerIntervalDuration": "3.00:00:00",
    "maximumShortTimerDuration": "6.00:00:00",
    "defaultHttpAsyncRequestSleepTimeMillseconds": 30000,
}


class UnknownOrchestratorError(Exception):
    pass


def _is_failed_status(status: str) -> bool:
    return status in (FAILED, TERMINATED)


class DurableEngine:
    """The local Durable Functions engine (see the package docstring).

    ``atomic_create=False`` plays the Azure Storage backend's start, which checks the instance's
    status and then writes it, not atomically: a start racing another for the same id passes the
    check (a window of ``create_race_s``) and replaces the running execution with a new one; the
    old execution's activities already running still run (their results are then dropped as for an
    older execution). UNVERIFIED how the real backend settles two ExecutionStarted messages for one
    id; this is the worst case the app must survive: the same activities run twice, at once.
    """

    def __init__(
        self,
        functions: Iterable[Any] = (),
        store: InstanceStore | None = None,
        host_json: Path | None = None,
        activity_workers: int = 4,
        time_scale: float = 1.0,
        clock: Clock | None = None,
        task_hub: str = "TestHubName",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        atomic_create: bool = True,
        create_race_s: float = 0.1,
        runner: FunctionRunner | None = None,
    ) -> None:
        self.atomic_create = atomic_create
        self.create_race_s = create_race_s
        self.created: list[tuple[str, str]] = []  # (instance id, execution id) of every start
        self.runner: FunctionRunner = runner if runner is not None else InProcessRunner(functions)
        self.store: InstanceStore = store if store is not None else InMemoryStore()
        self.overridable_states = read_overridable_states(host_json)
        self.clock = clock or Clock(time_scale)
        self.task_hub = task_hub
        self.activity_workers = activity_workers
        self._host, self._port = host, port
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._ready: list[str] = []
        self._ready_set: set[str] = set()
        self._cond = threading.Condition()
        self._timer_queue = TimerQueue(self.clock, self._fire_timer)
        self._running = False
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None
        self._server: Any = None

    # -- lifecycle
    def start(self) -> DurableEngine:
        from devtools.durable.http_api import serve

        self._running = True
        self._pool = ThreadPoolExecutor(self.activity_workers, thread_name_prefix="durable-activity")
        thread = threading.Thread(target=self._orchestration_loop, name="durable-orchestrations", daemon=True)
        thread.start()
        self._threads.append(thread)
        self._timer_queue.start()
        self._server = serve(self, self._host, self._port)
        self._recover()
        return self

    def stop(self) -> None:
        self._running = False
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        self._timer_queue.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._pool is not None:
            # Do not wait for activities still running: like a host crash, their results are dropped
            # (``_run_activity`` checks ``_running``) and a restarted engine re-runs them.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> DurableEngine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def orchestrators(self) -> Collection[str]:
        return self.runner.orchestrators

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("engine not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def client_binding_json(self) -> str:
        """The string a ``durableClient`` binding hands the function (``DurableOrchestrationClient(...)``).

        Shape as the extension's ``DurableClientAttribute`` binding data for out-of-proc languages:
        ``taskHubName``, ``creationUrls``, ``managementUrls`` (with the ``INSTANCEID`` placeholder in
        ``id``), ``baseUrl``, ``requiredQueryStringParameters``, ``rpcBaseUrl``.
        """
        base = f"{self.base_url}/runtime/webhooks/durabletask"
        query = f"taskHub={self.task_hub}&connection=Storage"
        instance = f"{base}/instances/INSTANCEID"
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?{query}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                        f"&pollingInterval={{intervalInSeconds}}&{query}"
                    ),
                },
                "managementUrls": {
                    "id": "INSTANCEID",
                    "statusQueryGetUri": f"{instance}?{query}",
                    "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
                    "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
                    "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
                    "purgeHistoryDeleteUri": f"{instance}?{query}",
                    "restartPostUri": f"{instance}/restart?{query}",
                    "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
                    "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
                },
                "baseUrl": base,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": f"{self.base_url}/durabletask/",
            }
        )

    def management_payload(self, instance_id: str) -> dict[str, str]:
        urls = json.loads(self.client_binding_json())["managementUrls"]
        return {key: value.replace("INSTANCEID", instance_id) for key, value in urls.items()}

    # -- client operations
    def start_new(
        self,
        orchestrator_name: str,
        instance_id: str | None = None,
        input: Any = None,
        *,
        serialized_input: str | None = None,
    ) -> str:
        """Start (or replace) an instance; ``InstanceExistsError`` when NonRunningStates refuses it."""
        if serialized_input is None and input is not None:
            serialized_input = ActivityTriggerConverter.encode(input, expected_type=None).value
        return self._create(orchestrator_name, instance_id or uuid.uuid4().hex, serialized_input)

    def _create(
        self,
        name: str,
        instance_id: str,
        serialized_input: str | None,
        parent: tuple[str, str, int] | None = None,
    ) -> str:
        if name not in self.orchestrators:
            raise UnknownOrchestratorError(
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                f"Additional info: The following are the known orchestrator functions: "
                f"{', '.join(repr(n) for n in sorted(self.orchestrators))}."
            )
        now = self.clock.now()
        execution_id = uuid.uuid4().hex
        started = h.event(
            EventType.EXECUTION_STARTED,
            now,
            Name=name,
            Version="",
            Input=serialized_input,
            OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
            ParentInstance=(
                {
                    "OrchestrationInstance": {"InstanceId": parent[0], "ExecutionId": parent[1]},
                    "TaskScheduleId": parent[2],
                }
                if parent
                else None
            ),
        )
        record = InstanceRecord(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            input=serialized_input,
            status=PENDING,
            created=h.format_time(now),
            last_updated=h.format_time(now),
            inbox=[started],
            parent_instance_id=parent[0] if parent else None,
            parent_execution_id=parent[1] if parent else None,
            parent_task_id=parent[2] if parent else None,
        )
        refuse = NON_RUNNING_DEDUPE if self.overridable_states == "NonRunningStates" else ()
        if self.atomic_create:
            self.store.create(record, refuse)
        else:  # check, wait, then write whatever is there: two racing starts both pass
            existing = self.store.get(instance_id)
            if existing is not None and existing.status in refuse:
                raise InstanceExistsError(instance_id, existing.status)
            time.sleep(self.create_race_s)
            self.store.create(record, ())
        self.created.append((instance_id, execution_id))
        self._enqueue(instance_id)
        return instance_id

    def raise_event(
        self, instance_id: str, event_name: str, event_data: Any = None, *, serialized: str | None = None
    ) -> str:
        """Returns ``"ok"``, ``"missing"`` or ``"gone"`` (the extension answers 202 / 404 / 410)."""
        payload = serialized if serialized is not None else json.dumps(event_data)
        evt = h.event(EventType.EVENT_RAISED, self.clock.now(), Name=event_name, Input=payload)
        return self._deliver(instance_id, None, evt)

    def terminate(self, instance_id: str, reason: str = "") -> str:
        evt = h.event(EventType.EXECUTION_TERMINATED, self.clock.now(), Input=reason)
        return self._deliver(instance_id, None, evt)

    def purge(self, instance_id: str) -> bool:
        with self._lock(instance_id):
            return self.store.delete(instance_id)

    def get_status(
        self, instance_id: str, *, show_history: bool = False, show_input: bool = True
    ) -> dict[str, Any] | None:
        record = self.store.get(instance_id)
        return None if record is None else status_of(record, show_history=show_history, show_input=show_input)

    def list_statuses(self) -> list[dict[str, Any]]:
        return [status_of(record, show_history=False, show_input=False) for record in self.store.list()]

    def wait_for(
        self, instance_id: str, timeout: float = 10.0, statuses: Iterable[str] = TERMINAL
    ) -> dict[str, Any]:
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status(instance_id)
            if status is not None and status["runtimeStatus"] in wanted:
                return status
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{instance_id} still {status and status['runtimeStatus']} after {timeout} s"
                )
            time.sleep(0.01)

    # -- delivery
    def _lock(self, instance_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(instance_id, threading.RLock())

    def _deliver(self, instance_id: str, execution_id: str | None, evt: Event) -> str:
        """Append a message to the instance's inbox (dropped if it was for an older execution)."""
        with self._lock(instance_id):
            for _ in range(20):
                record = self.store.get(instance_id)
                if record is None:
                    return "missing"
                if execution_id is not None and record.execution_id != execution_id:
                    return "gone"
                if record.status in TERMINAL:
                    return "gone"
                record.inbox.append(evt)
                try:
                    self.store.update(record)
                except ConcurrencyError:
                    continue
                self._enqueue(instance_id)
                return "ok"
        raise ConcurrencyError(instance_id)

    def _enqueue(self, instance_id: str) -> None:
        with self._cond:
            if instance_id not in self._ready_set:
                self._ready_set.add(instance_id)
                self._ready.append(instance_id)
                self._cond.notify_all()

    def _orchestration_loop(self) -> None:
        while self._running:
            with self._cond:
                while self._running and not self._ready:
                    self._cond.wait(0.5)
                if not self._running:
                    return
                instance_id = self._ready.pop(0)
                self._ready_set.discard(instance_id)
            try:
                self._episode(instance_id)
            except Exception as exc:
                # As the Azure Storage backend abandons a work item it could not complete (its
                # message becomes visible again): the episode is tried again, never dropped.
                log.warning(
                    "durable episode for %s failed (%s); retrying in 2 s", instance_id, type(exc).__name__
                )
                retry = threading.Timer(2.0, self._enqueue, args=(instance_id,))
                retry.daemon = True
                retry.start()

    # -- one episode
    def _episode(self, instance_id: str) -> None:
        with self._lock(instance_id):
            record = self.store.get(instance_id)
            if record is None or not record.inbox or record.status in TERMINAL:
                return
            work = self._replay(record)
            try:
                self.store.update(record)
            except ConcurrencyError:
                self._enqueue(instance_id)  # replaced meanwhile: look again
                return
        self._dispatch(record, work)

    def _replay(self, record: InstanceRecord) -> list[Scheduled]:
        now = self.clock.now()
        inbox, record.inbox = record.inbox, []
        terminated = next((e for e in inbox if h.type_of(e) == EventType.EXECUTION_TERMINATED), None)
        past = [{**e, "IsPlayed": True} for e in record.history]
        new = [h.event(EventType.ORCHESTRATOR_STARTED, now)]
        if terminated is not None:
            new.append(terminated)
            reason = terminated.get("Input") or ""
            self._finish(record, past + new, now, TERMINATED, reason)
            return []
        new.extend(inbox)
        full = past + new
        body = {
            "history": full,
            "input": record.input,
            "instanceId": record.instance_id,
            "isReplaying": bool(past),
            "parentInstanceId": record.parent_instance_id,
            **EXTENSION_CONTEXT_FIELDS,  # schema V2+ keeps task_all/task_any apart (V1 flattens them)
        }
        state: dict[str, Any] = {}
        error: str | None = None
        if record.name not in self.runner.orchestrators:
            error = f"The orchestrator function '{record.name}' does not exist in this app."
        else:
            answer = self.runner.orchestrate(record.name, json.dumps(body))
            state, error = answer.state, answer.error
        if "customStatus" in state:
            record.custom_status = state.get("customStatus")
        replay = None
        if error is None:
            try:
                replay = Replayer(state.get("actions") or [], full, state.get("schemaVersion")).run()
            except NonDeterminismError as exc:
                error = f"Non-Deterministic workflow detected: {exc}"
            except UnsupportedActionError as exc:
                error = str(exc)
        if error is not None or replay is None:
            # UNVERIFIED wording: the extension wraps the SDK's error like this for out-of-proc orchestrators.
            self._finish(record, full, now, FAILED, f"Orchestrator function '{record.name}' failed: {error}")
            return []
        if state.get("isDone"):
            if replay.continue_as_new:
                self._continue_as_new(record, full, now, replay.continue_as_new_input)
                return []
            self._finish(record, full, now, COMPLETED, state.get("output"))
            return []
        scheduled = [self._scheduled_event(s, now) for s in replay.new_work]
        full.extend(scheduled)
        full.append(h.event(EventType.ORCHESTRATOR_COMPLETED, now))
        record.history = [{**e, "IsPlayed": False} for e in full]
        record.status = RUNNING
        record.last_updated = h.format_time(now)
        return [
            s
            for s in replay.new_work
            if s.event_id not in replay.cancelled_timers or s.kind != EventType.TIMER_CREATED
        ]

    @staticmethod
    def _scheduled_event(s: Scheduled, now: datetime) -> Event:
        if s.kind == EventType.TASK_SCHEDULED:
            return h.event(s.kind, now, s.event_id, Name=s.name, Version="", Input=s.input)
        if s.kind == EventType.TIMER_CREATED:
            return h.event(s.kind, now, s.event_id, FireAt=h.format_time(s.fire_at or now))
        return h.event(s.kind, now, s.event_id, Name=s.name, Input=s.input, InstanceId=s.instance_id)

    def _finish(
        self, record: InstanceRecord, full: list[Event], now: datetime, status: str, output: Any
    ) -> None:
        if status != TERMINATED:
            full.append(h.event(EventType.ORCHESTRATOR_COMPLETED, now))
        result = output if isinstance(output, str) or output is None else json.dumps(output)
        full.append(h.event(EventType.EXECUTION_COMPLETED, now, OrchestrationStatus=status, Result=result))
        record.history = [{**e, "IsPlayed": False} for e in full]
        record.status = status
        record.output = output
        record.last_updated = h.format_time(now)

    def _continue_as_new(
        self, record: InstanceRecord, full: list[Event], now: datetime, new_input: Any
    ) -> None:
        # DTFx starts a fresh history. (Not modelled: carrying over unconsumed external events.)
        record.execution_id = uuid.uuid4().hex
        record.input = new_input
        record.status = CONTINUED_AS_NEW
        record.history = []
        record.inbox = [
            h.event(
                EventType.EXECUTION_STARTED,
                now,
                Name=record.name,
                Version="",
                Input=new_input,
                OrchestrationInstance={"InstanceId": record.instance_id, "ExecutionId": record.execution_id},
            ),
        ]
        record.last_updated = h.format_time(now)
        self._enqueue(record.instance_id)

    # -- work
    def _dispatch(self, record: InstanceRecord, work: list[Scheduled]) -> None:
        if record.status in TERMINAL and record.parent_instance_id:
            self._notify_parent(record)
        for item in work:
            self._start_work(record.instance_id, record.execution_id, item)

    def _start_work(self, instance_id: str, execution_id: str, item: Scheduled) -> None:
        if item.kind == EventType.TASK_SCHEDULED:
            if self._pool is not None:
                self._pool.submit(
                    self._run_activity, instance_id, execution_id, item.event_id, item.name or "", item.input
                )
        elif item.kind == EventType.TIMER_CREATED:
            self._add_timer(instance_id, execution_id, item.event_id, item.fire_at or self.clock.now())
        elif item.kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
            child_id = item.instance_id or f"{instance_id}:{item.event_id:04d}"
            try:
                self._create(
                    item.name or "", child_id, item.input, parent=(instance_id, execution_id, item.event_id)
                )
            except Exception as exc:
                evt = h.event(
                    EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                    self.clock.now(),
                    TaskScheduledId=item.event_id,
                    Reason=str(exc),
                    Details=None,
                )
                self._deliver(instance_id, execution_id, evt)

    def _notify_parent(self, child: InstanceRecord) -> None:
        assert child.parent_instance_id is not None
        now = self.clock.now()
        if child.status == COMPLETED:
            result = None if child.output is None else json.dumps(child.output)
            evt = h.event(
                EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED,
                now,
                TaskScheduledId=child.parent_task_id,
                Result=result,
            )
        else:
            evt = h.event(
                EventType.SUB_ORCHESTRATION_INSTANCE_FAILED,
                now,
                TaskScheduledId=child.parent_task_id,
                Reason=str(child.output),
                Details=None,
            )
        self._deliver_until_stored(child.parent_instance_id, child.parent_execution_id, evt)

    def _run_activity(
        self, instance_id: str, execution_id: str, task_id: int, name: str, payload: str | None
    ) -> None:
        if not self._running:
            return
        evt = self._activity_event(name, payload, task_id)
        if self._running:  # a stopped engine drops the result, like a crashed host
            self._deliver_until_stored(instance_id, execution_id, evt)

    def _deliver_until_stored(self, instance_id: str, execution_id: str | None, evt: Event) -> None:
        """Deliver, and while the store is unreachable try again (backing off to 5 s) as long as the
        engine runs. The Azure Storage backend does the same with a work item whose result it could
        not send: the item is abandoned and retried until storage answers; no result is dropped
        because storage was down for a while (issue 22: Azurite stopped for 2 minutes)."""
        delay = 0.5
        while self._running:
            try:
                self._deliver(instance_id, execution_id, evt)
                return
            except Exception as exc:
                log.warning(
                    "durable store unreachable for %s (%s); retrying", instance_id, type(exc).__name__
                )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _activity_event(self, name: str, payload: str | None, task_id: int) -> Event:
        """TaskCompleted with the encoded result, or TaskFailed with the reason and details."""
        if name not in self.runner.activities:
            missing = f"The function '{name}' doesn't exist, is disabled, or is not an activity function."
            answer = failed_activity(name, f"LookupError: {missing}", "LookupError", "")
        else:
            answer = self.runner.run_activity(name, payload)
        if answer.failure is not None:
            reason, details = answer.failure
            return h.event(
                EventType.TASK_FAILED,
                self.clock.now(),
                TaskScheduledId=task_id,
                Reason=reason,
                Details=details,
            )
        return h.event(
            EventType.TASK_COMPLETED, self.clock.now(), TaskScheduledId=task_id, Result=answer.result
        )

    # -- timers
    def _add_timer(self, instance_id: str, execution_id: str, timer_id: int, fire_at: datetime) -> None:
        self._timer_queue.add(instance_id, execution_id, timer_id, fire_at)

    def _fire_timer(self, instance_id: str, execution_id: str, timer_id: int, fire_at: str) -> None:
        evt = h.event(EventType.TIMER_FIRED, self.clock.now(), TimerId=timer_id, FireAt=fire_at)
        self._deliver_until_stored(instance_id, execution_id, evt)

    # -- restart
    def _recover(self) -> None:
        """Resume instances in flight: re-run activities without a result, re-arm timers, re-queue inboxes."""
        for record in self.store.list():
            if record.status in TERMINAL:
                continue
            done = answered_task_ids(record)
            for evt in record.history:
                kind = h.type_of(evt)
                event_id = int(evt.get("EventId", -1))
                if event_id in done:
                    continue
                if kind == EventType.TASK_SCHEDULED:
                    item = Scheduled(event_id, kind, name=evt.get("Name"), input=evt.get("Input"))
                    self._start_work(record.instance_id, record.execution_id, item)
                elif kind == EventType.TIMER_CREATED:
                    self._add_timer(
                        record.instance_id, record.execution_id, event_id, h.parse_time(evt["FireAt"])
                    )
                elif kind == EventType.SUB_ORCHESTRATION_INSTANCE_CREATED:
                    child = self.store.get(str(evt.get("InstanceId")))
                    if child is not None and child.status in TERMINAL:
                        self._notify_parent(child)
            if record.inbox:
                self._enqueue(record.instance_id)
