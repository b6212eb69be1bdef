"""The extension's side of out-of-process replay: turn the SDK's actions into DTFx history.

The Python SDK returns, on every episode, *all* the actions the orchestrator has yielded so far
(``{"actions": [[...]], ...}``); the Durable extension re-plays them, in order, as a .NET
orchestration on top of DTFx. DTFx hands out a sequence number to every scheduled operation
(activity, timer, sub-orchestration) as the code reaches it, matches those against the
``TaskScheduled``/``TimerCreated``/... events already in history (raising a non-determinism error on
a mismatch) and turns the unmatched ones into new work. Retries (``CallActivityWithRetry``) are run by
DTFx's retry interceptor: attempt, on failure a durable timer, then the next attempt; after the last
failed attempt there is one more timer before the failure surfaces (the Python SDK's
``RetryAbleTask`` expects that extra timer).

This module simulates that side: :class:`Replayer` walks the history like DTFx replay does,
driving small "tasks" whose continuations run synchronously (like .NET continuations on the DTFx
synchronization context), so sequence numbers are handed out in the same order as both DTFx and the
Python SDK (``DurableOrchestrationContext._add_to_open_tasks``) assign them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devtools.durable.history import SCHEDULING_EVENTS, Event, EventType, parse_time, type_of

# azure.durable_functions.models.actions.ActionType
CALL_ACTIVITY = 0
CALL_ACTIVITY_WITH_RETRY = 1
CALL_SUB_ORCHESTRATOR = 2
CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
CONTINUE_AS_NEW = 4
CREATE_TIMER = 5
WAIT_FOR_EXTERNAL_EVENT = 6
CALL_ENTITY = 7
CALL_HTTP = 8
SIGNAL_ENTITY = 9
WHEN_ANY = 11
WHEN_ALL = 12


class NonDeterminismError(Exception):
    """The replayed actions disagree with history (DTFx ``NonDeterministicOrchestrationException``)."""


class UnsupportedActionError(Exception):
    pass


@dataclass
class Scheduled:
    """One sequence number handed out during replay."""

    event_id: int
    kind: EventType  # TASK_SCHEDULED, TIMER_CREATED or SUB_ORCHESTRATION_INSTANCE_CREATED
    name: str | None = None
    input: str | None = None
    fire_at: datetime | None = None
    instance_id: str | None = None
    canceled: bool = False
    matched: bool = False


@dataclass
class ReplayResult:
    new_work: list[Scheduled]
    continue_as_new: bool = False
    continue_as_new_input: Any = None
    cancelled_timers: set[int] = field(default_factory=set)


class _Op:
    """A minimal .NET-Task-like promise; continuations run inline when it resolves."""

    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.value: Any = None
        self._callbacks: list[Callable[[_Op], None]] = []

    def resolve(self, *, failed: bool, value: Any) -> None:
        if self.done:
            return
        self.done, self.failed, self.value = True, failed, value
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)

    def then(self, callback: Callable[[_Op], None]) -> None:
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)


def _retry_delay(options: dict[str, Any], attempt: int, first_attempt: datetime, now: datetime) -> timedelta:
    """DTFx ``RetryInterceptor.ComputeNextDelay``; zero means "stop retrying".

    The Python SDK only sends firstRetryIntervalInMilliseconds and maxNumberOfAttempts; the other
    knobs keep the extension's defaults (backoff 1, max interval 6 days, no retry timeout) unless
    present in the JSON.
    """
    first = float(options.get("firstRetryIntervalInMilliseconds", 0))
    backoff = float(options.get("backoffCoefficient", 1.0))
    max_interval = float(options.get("maxRetryIntervalInMilliseconds", 6 * 24 * 3600 * 1000))
    timeout = options.get("retryTimeoutInMilliseconds")
    if timeout is not None and now >= first_attempt + timedelta(milliseconds=float(timeout)):
        return timedelta(0)
    delay = first * math.pow(backoff, attempt)
    return timedelta(milliseconds=min(delay, max_interval))


def flatten_actions(actions: list[Any], schema_version: int | None = None) -> list[dict[str, Any]]:
    """Top-level awaited actions, in order.

    Schema V2+ (the state carries ``schemaVersion`` >= 1) sends ``[[a, b, ...]]``: one list holding
    every top-level action, compound ones as WhenAll/WhenAny actions. Schema V1 sends one list per
    yield, where a list of several actions is a task_all/task_any (V1 cannot tell them apart).
    """
    groups = actions or []
    if schema_version is not None and schema_version >= 1:
        return [action for group in groups for action in (group if isinstance(group, list) else [group])]
    result: list[dict[str, Any]] = []
    for group in groups:
        if isinstance(group, dict):
            result.append(group)
        elif len(group) == 1:
            result.append(group[0])
        elif group:
            result.append({"actionType": WHEN_ALL, "compoundActions": list(group)})
    return result


class Replayer:
    """Re-run the SDK's actions against history the way the extension and DTFx do."""

    def __init__(self, actions: list[Any], history: list[Event], schema_version: int | None = None) -> None:
        self._actions = flatten_actions(actions, schema_version)
        self._history = history
        self._next_id = 0
        self._scheduled: dict[int, Scheduled] = {}
        self._waiting: dict[int, _Op] = {}
        self._event_waiters: dict[str, list[_Op]] = {}
        self._event_buffer: dict[str, list[Any]] = {}
        self._now: datetime | None = None
        self._top = 0
        self._continue_as_new: dict[str, Any] | None = None

    # -- sequence numbers
    def _allocate(self, kind: EventType, **fields: Any) -> _Op:
        scheduled = Scheduled(self._next_id, kind, **fields)
        self._scheduled[self._next_id] = scheduled
        op = _Op()
        self._waiting[self._next_id] = op
        self._next_id += 1
        return op

    # -- starting actions
    def _start(self, action: dict[str, Any]) -> _Op:
        kind = int(action.get("actionType", -1))
        if kind == CALL_ACTIVITY:
            return self._allocate(
                EventType.TASK_SCHEDULED, name=action["functionName"], input=action.get("input")
            )
        if kind == CALL_ACTIVITY_WITH_RETRY:
            return self._with_retry(
                action,
                lambda: self._allocate(
                    EventType.TASK_SCHEDULED, name=action["functionName"], input=action.get("input")
                ),
            )
        if kind == CALL_SUB_ORCHESTRATOR:
            return self._sub_orchestration(action)
        if kind == CALL_SUB_ORCHESTRATOR_WITH_RETRY:
            return self._with_retry(action, lambda: self._sub_orchestration(action))
        if kind == CREATE_TIMER:
            return self._allocate(
                EventType.TIMER_CREATED,
                fire_at=parse_time(action["fireAt"]),
                canceled=bool(action.get("isCanceled")),
            )
        if kind == WAIT_FOR_EXTERNAL_EVENT:
            return self._wait_for_event(action["externalEventName"])
        if kind in (WHEN_ALL, WHEN_ANY):
            children = [self._start(child) for child in action.get("compoundActions", [])]
            return self._when(children, any_=kind == WHEN_ANY)
        raise UnsupportedActionError(f"action type {kind} is not supported by devtools.durable: {action}")

    def _sub_orchestration(self, action: dict[str, Any]) -> _Op:
        return self._allocate(
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
            name=action["functionName"],
            input=action.get("input"),
            instance_id=action.get("instanceId"),
        )

    def _with_retry(self, action: dict[str, Any], attempt: Callable[[], _Op]) -> _Op:
        options = action.get("retryOptions") or {}
        max_attempts = int(options.get("maxNumberOfAttempts", 1))
        first_attempt = self._clock()
        result = _Op()

        def run(number: int) -> None:
            attempt().then(lambda op: finished(number, op))

        def finished(number: int, op: _Op) -> None:
            if not op.failed:
                result.resolve(failed=False, value=op.value)
                return
            delay = _retry_delay(options, number, first_attempt, self._clock())
            if delay <= timedelta(0):
                result.resolve(failed=True, value=op.value)
                return
            timer = self._allocate(EventType.TIMER_CREATED, fire_at=self._clock() + delay)

            def fired(_: _Op) -> None:
                if number + 1 < max_attempts:
                    run(number + 1)
                else:
                    result.resolve(failed=True, value=op.value)

            timer.then(fired)

        run(0)
        return result

    def _wait_for_event(self, name: str) -> _Op:
        op = _Op()
        buffered = self._event_buffer.get(name)
        if buffered:
            op.resolve(failed=False, value=buffered.pop(0))
        else:
            self._event_waiters.setdefault(name, []).append(op)
        return op

    @staticmethod
    def _when(children: list[_Op], *, any_: bool) -> _Op:
        result = _Op()
        if not children:
            result.resolve(failed=False, value=[])
            return result

        def child_done(op: _Op) -> None:
            if any_:
                result.resolve(failed=False, value=op)
            elif op.failed:  # the Python SDK's WhenAllTask fails on the first failed child
                result.resolve(failed=True, value=op.value)
            elif all(child.done for child in children):
                result.resolve(failed=False, value=[child.value for child in children])

        for child in children:
            child.then(child_done)
        return result

    def _clock(self) -> datetime:
        if self._now is None:
            raise NonDeterminismError("orchestration code ran before any OrchestratorStarted event")
        return self._now

    def _run_next(self, _: _Op | None = None) -> None:
        """Await the top-level actions one after another (exceptions are the SDK's business)."""
        while self._top < len(self._actions):
            action = self._actions[self._top]
            self._top += 1
            kind = int(action.get("actionType", -1))
            if kind == CONTINUE_AS_NEW:
                self._continue_as_new = action
                continue
            if kind in (SIGNAL_ENTITY, CALL_ENTITY, CALL_HTTP):
                raise UnsupportedActionError(f"action type {kind} is not supported by devtools.durable")
            op = self._start(action)
            if not op.done:
                op.then(self._run_next)
                return

    # -- history
    def run(self) -> ReplayResult:
        for evt in self._history:
            kind = type_of(evt)
            if kind == EventType.ORCHESTRATOR_STARTED:
                self._now = parse_time(evt["Timestamp"])
            elif kind == EventType.EXECUTION_STARTED:
                self._run_next()
            elif kind in SCHEDULING_EVENTS:
                self._match(evt, kind)
            elif kind in (EventType.TASK_COMPLETED, EventType.SUB_ORCHESTRATION_INSTANCE_COMPLETED):
                self._complete(int(evt["TaskScheduledId"]), failed=False, value=evt.get("Result"))
            elif kind in (EventType.TASK_FAILED, EventType.SUB_ORCHESTRATION_INSTANCE_FAILED):
                self._complete(int(evt["TaskScheduledId"]), failed=True, value=evt.get("Reason"))
            elif kind == EventType.TIMER_FIRED:
                self._complete(int(evt["TimerId"]), failed=False, value=None)
            elif kind == EventType.EVENT_RAISED:
                self._raise(str(evt.get("Name")), evt.get("Input"))
        new_work = [s for s in self._scheduled.values() if not s.matched]
        cancelled = {
            s.event_id for s in self._scheduled.values() if s.kind == EventType.TIMER_CREATED and s.canceled
        }
        result = ReplayResult(new_work=new_work, cancelled_timers=cancelled)
        if self._continue_as_new is not None:
            result.continue_as_new = True
            result.continue_as_new_input = self._continue_as_new.get("input")
        return result

    def _complete(self, event_id: int, *, failed: bool, value: Any) -> None:
        op = self._waiting.pop(event_id, None)
        if op is not None:
            op.resolve(failed=failed, value=value)

    def _raise(self, name: str, payload: Any) -> None:
        waiters = self._event_waiters.get(name)
        if waiters:
            waiters.pop(0).resolve(failed=False, value=payload)
        else:
            self._event_buffer.setdefault(name, []).append(payload)

    def _match(self, evt: Event, kind: EventType) -> None:
        """DTFx: every scheduling event in history must be reproduced, same id, same kind and name.

        UNVERIFIED wording: modelled on DTFx ``TaskOrchestrationContext``'s non-determinism messages.
        """
        event_id = int(evt["EventId"])
        label = {
            EventType.TASK_SCHEDULED: "an activity task",
            EventType.TIMER_CREATED: "a durable timer",
            EventType.SUB_ORCHESTRATION_INSTANCE_CREATED: "a sub-orchestration",
            EventType.EVENT_SENT: "an event",
        }[kind]
        name = evt.get("Name")
        scheduled = self._scheduled.get(event_id)
        if scheduled is None:
            named = f" and name '{name}'" if name else ""
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {label} with sequence ID {event_id}"
                f"{named}, but the current replay execution hasn't (yet?) scheduled this task. Was a change "
                "made to the orchestrator code after this instance had already started running?"
            )
        if scheduled.kind != kind or (name is not None and scheduled.name != name):
            produced = f"'{scheduled.name}'" if scheduled.name else scheduled.kind.name
            raise NonDeterminismError(
                f"A previous execution of this orchestration scheduled {label} with sequence number "
                f"{event_id} named '{name}', but the current orchestration replay instead produced "
                f"{produced} ({scheduled.kind.name}) with this sequence number. Was a change made to the "
                "orchestrator code after this instance had already started running?"
            )
        scheduled.matched = True
