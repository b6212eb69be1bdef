"""Call an indexed function in this process, bindings by name, async awaited: the fast path of the
integration and durable suites. The local host does not use it: it runs every function in the
Python worker's own code (devtools/pyworker)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")

TRIGGER_TYPES = frozenset({"httpTrigger", "eventGridTrigger", "timerTrigger"})


def binding_types(function: Any) -> dict[str, str]:
    """binding name -> binding type, e.g. {"req": "httpTrigger", "client": "durableClient"}."""
    return {binding.name: binding.type for binding in function.get_bindings() if binding.name != "$return"}


def call_function(function: Any, trigger_value: Any, *, durable_client: str | None = None) -> Any:
    """Run `function` with its trigger value and, if it declares one, the Durable client binding."""
    kwargs: dict[str, Any] = {}
    for name, kind in binding_types(function).items():
        if kind in TRIGGER_TYPES:
            kwargs[name] = trigger_value
        elif kind == "durableClient":
            if durable_client is None:
                raise RuntimeError(f"{function.get_function_name()} needs a Durable client, and none runs")
            kwargs[name] = durable_client
    result = function.get_user_function()(**kwargs)
    if inspect.isawaitable(result):
        result = on_worker_loop(result)
    return result


def on_worker_loop(awaitable: Awaitable[T]) -> T:
    """Await on the process's one worker loop, where the Durable client's shared session lives."""
    return asyncio.run_coroutine_threadsafe(_awaited(awaitable), _worker_loop()).result()


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _worker_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop for every async function, as the Python worker has.

    (The Durable client caches an aiohttp session bound to the loop it was first used on, so a
    fresh loop per invocation breaks the second call.)
    """
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="functions-event-loop", daemon=True).start()
        return _loop
