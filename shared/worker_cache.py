"""What a worker keeps between invocations (settings, SDK clients, signing keys), with one reset.

Azure Functions keeps a worker process alive across invocations, so anything costly to build is
built once per process. Every such cache registers here, so a test that changes the environment
calls `reset_worker_caches()` once and nothing stale survives.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")
_resets: list[Callable[[], None]] = []
_lock = threading.Lock()


def worker_cache(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """`functools.cache`, forgotten by `reset_worker_caches()`."""
    cached = functools.cache(function)
    on_reset(cached.cache_clear)
    return cached  # type: ignore[return-value]  # cache's wrapper keeps the call signature


def on_reset(forget: Callable[[], None]) -> Callable[[], None]:
    """Register `forget` to run on `reset_worker_caches()`; returns it."""
    with _lock:
        _resets.append(forget)
    return forget


def reset_worker_caches() -> None:
    """Forget everything cached in this process (tests switch emulators, accounts and settings)."""
    with _lock:
        resets = list(_resets)
    for forget in resets:
        forget()
