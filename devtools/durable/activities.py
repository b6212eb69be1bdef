"""Run one activity as the Functions host does: decode its input with the SDK's converter, call the
user function, encode its result, and answer with the history event the extension would append."""

from __future__ import annotations

import asyncio
import inspect
import json
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from devtools.durable import history as h
from devtools.durable.history import Event, EventType


def run_activity(
    activities: dict[str, tuple[Any, str]],
    name: str,
    payload: str | None,
    task_id: int,
    now: Callable[[], datetime],
) -> Event:
    """TaskCompleted with the encoded result, or TaskFailed with the reason and details."""
    entry = activities.get(name)
    try:
        if entry is None:
            raise LookupError(
                f"The function '{name}' doesn't exist, is disabled, or is not an activity function."
            )
        user_function, binding = entry
        argument = (
            None
            if payload is None
            else ActivityTriggerConverter.decode(meta.Datum(type="json", value=payload), trigger_metadata={})
        )
        result = user_function(**{binding: argument})
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        return h.event(EventType.TASK_COMPLETED, now(), TaskScheduledId=task_id, Result=encoded)
    except Exception as exc:
        # UNVERIFIED wording: the extension's TaskActivityShim reports
        # "Activity function '<name>' failed: <message>" with the serialized exception as details.
        return h.event(
            EventType.TASK_FAILED,
            now(),
            TaskScheduledId=task_id,
            Reason=f"Activity function '{name}' failed: {type(exc).__name__}: {exc}",
            Details=json.dumps(
                {"type": type(exc).__name__, "message": str(exc), "stack": traceback.format_exc()}
            ),
        )


async def _await(awaitable: Any) -> Any:
    return await awaitable
