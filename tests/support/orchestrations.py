"""Drive an orchestrator generator by hand, as the Durable runtime would: each task it yields is
answered by a test-supplied outcome (a result, or an exception raised into the generator as the
SDK raises a failed task), and every action it scheduled is recorded in order.

For the branch-by-branch unit tests of shared.archive.orchestration; the end-to-end replay through
the Durable SDK's own entry point is tests/integration and tests/e2e (devtools/durable).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Outcome = Callable[["Task"], Any]  # a result, an Exception the task fails with, or PENDING
PENDING = object()  # the task has not completed (a timer that a `wake` beat, an event never raised)


@dataclass
class Task:
    """One scheduled action: an activity, a sub-orchestration, a timer or an external event."""

    kind: str
    name: str
    input: Any = None
    instance_id: str | None = None
    result: Any = None
    is_completed: bool = False

    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class AllTask:
    tasks: list[Task]


@dataclass
class AnyTask:
    tasks: list[Task]


@dataclass
class Context:
    """The orchestration context's surface the archive orchestrator uses."""

    input: Any
    instance_id: str = "archive-test"
    current_utc_datetime: datetime = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    scheduled: list[Task] = field(default_factory=list)
    custom_status: list[Any] = field(default_factory=list)
    continued_with: Any = None
    _uuids: int = 0

    def get_input(self) -> Any:
        return self.input

    def set_custom_status(self, status: Any) -> None:
        self.custom_status.append(status)

    def _schedule(self, task: Task) -> Task:
        self.scheduled.append(task)
        return task

    def call_activity(self, name: str, input_: Any = None) -> Task:
        return self._schedule(Task("activity", name, input_))

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> Task:
        return self._schedule(Task("activity", name, input_))

    def call_sub_orchestrator(self, name: str, input_: Any = None, instance_id: str | None = None) -> Task:
        return self._schedule(Task("orchestration", name, input_, instance_id))

    def create_timer(self, fire_at: datetime) -> Task:
        return self._schedule(Task("timer", "timer", fire_at))

    def wait_for_external_event(self, name: str) -> Task:
        return self._schedule(Task("event", name))

    def task_all(self, tasks: list[Task]) -> AllTask:
        return AllTask(list(tasks))

    def task_any(self, tasks: list[Task]) -> AnyTask:
        return AnyTask(list(tasks))

    def continue_as_new(self, input_: Any) -> None:
        self.continued_with = input_

    def new_uuid(self) -> str:
        self._uuids += 1
        return str(uuid.UUID(int=self._uuids))

    def activities(self, name: str) -> list[Task]:
        return [task for task in self.scheduled if task.kind == "activity" and task.name == name]


def drive(orchestration: Generator[Any, Any, Any], outcome: Outcome, context: Context | None = None) -> Any:
    """Run the generator to its end, answering each yielded task with `outcome(task)`; its return
    value (or the exception it ends with). A timer that fires moves `context`'s clock to its time."""
    sent: Any = None
    failure: BaseException | None = None
    while True:
        try:
            yielded = orchestration.throw(failure) if failure is not None else orchestration.send(sent)
        except StopIteration as done:
            return done.value
        sent, failure = _answer(yielded, outcome, context)


def _answer(yielded: Any, outcome: Outcome, context: Context | None) -> tuple[Any, BaseException | None]:
    tasks = yielded.tasks if isinstance(yielded, AllTask | AnyTask) else [yielded]
    first_failure: BaseException | None = None
    for task in tasks:
        value = outcome(task)
        if value is PENDING:
            continue
        task.is_completed = True
        task.result = value
        if task.kind == "timer" and context is not None:
            context.current_utc_datetime = max(context.current_utc_datetime, task.input)
        if isinstance(value, BaseException) and first_failure is None:
            first_failure = value
        if isinstance(yielded, AnyTask):
            return task, None  # the first to complete wins
    if first_failure is not None:
        return None, first_failure
    # nothing completes a task_any of pending tasks, a task_all with one pending or a pending task
    assert not isinstance(yielded, AnyTask), "the orchestrator waits on tasks of which none completes"
    assert all(task.is_completed for task in tasks), "the orchestrator waits on a task that never completes"
    results = [task.result for task in tasks]
    return (results if isinstance(yielded, AllTask) else results[0]), None
