"""Who runs the app's orchestrators and activities for the engine: in this process, or elsewhere.

The engine needs two calls, each as the Durable extension makes it: an orchestrator episode (the
JSON context in, the SDK's state JSON out, or its failure) and an activity (the serialized input
in, the serialized result or the failure out). `InProcessRunner` calls the indexed functions here
(the fast path of the durable and integration suites); the local host's runner sends the same
calls to the Python worker (`devtools.devhost.durable.WorkerRunner`).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import traceback
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"


@dataclass(frozen=True)
class OrchestratorAnswer:
    """The SDK's state (`actions`, `isDone`, `output`, `customStatus`, ...), or why the episode failed."""

    state: dict[str, Any]
    error: str | None = None


@dataclass(frozen=True)
class ActivityAnswer:
    """The serialized result, or the failure's reason and details."""

    result: str | None = None
    failure: tuple[str, str] | None = None


class FunctionRunner(Protocol):
    @property
    def orchestrators(self) -> Collection[str]: ...

    @property
    def activities(self) -> Collection[str]: ...

    def orchestrate(self, name: str, context: str) -> OrchestratorAnswer: ...

    def run_activity(self, name: str, payload: str | None) -> ActivityAnswer: ...


def failed_episode(message: str) -> OrchestratorAnswer:
    """The SDK fails an episode by raising with its state after OUT_OF_PROC_MARKER: keep both."""
    text, _, data = message.partition(OUT_OF_PROC_MARKER)
    try:
        state = json.loads(data.split("\n", 1)[0]) if data else {}
    except ValueError:
        state = {}
    return OrchestratorAnswer(state if isinstance(state, dict) else {}, text)


def failed_activity(name: str, reason: str, kind: str, stack: str) -> ActivityAnswer:
    # UNVERIFIED wording: the extension's TaskActivityShim reports
    # "Activity function '<name>' failed: <message>" with the serialized exception as details.
    message = reason.split(": ", 1)[1] if ": " in reason else reason
    details = json.dumps({"type": kind, "message": message, "stack": stack})
    return ActivityAnswer(failure=(f"Activity function '{name}' failed: {reason}", details))


class InProcessRunner:
    """The indexed functions of an app imported in this process (`app.get_functions()`)."""

    def __init__(self, functions: Iterable[Any]) -> None:
        self._orchestrators: dict[str, Callable[..., str]] = {}
        self._activities: dict[str, tuple[Any, str]] = {}
        for function in functions:
            trigger = function.get_trigger()
            if trigger is None:
                continue
            if trigger.type == "orchestrationTrigger":
                self._orchestrators[function.get_function_name()] = function.get_user_function()
            elif trigger.type == "activityTrigger":
                self._activities[function.get_function_name()] = (function.get_user_function(), trigger.name)

    @property
    def orchestrators(self) -> Collection[str]:
        return self._orchestrators.keys()

    @property
    def activities(self) -> Collection[str]:
        return self._activities.keys()

    def orchestrate(self, name: str, context: str) -> OrchestratorAnswer:
        try:
            return OrchestratorAnswer(
                json.loads(self._orchestrators[name](func.OrchestrationContext(context)))
            )
        except Exception as exc:  # the SDK reports orchestrator failures as an exception
            return failed_episode(str(exc))

    def run_activity(self, name: str, payload: str | None) -> ActivityAnswer:
        """Decode the input with the SDK's converter, call the function, encode its result."""
        user_function, binding = self._activities[name]
        try:
            argument = (
                None
                if payload is None
                else ActivityTriggerConverter.decode(
                    meta.Datum(type="json", value=payload), trigger_metadata={}
                )
            )
            result = user_function(**{binding: argument})
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
            return ActivityAnswer(result=ActivityTriggerConverter.encode(result, expected_type=None).value)
        except Exception as exc:
            return failed_activity(
                name, f"{type(exc).__name__}: {exc}", type(exc).__name__, traceback.format_exc()
            )


async def _await(awaitable: Any) -> Any:
    return await awaitable
