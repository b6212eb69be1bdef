"""Fixtures for the local Durable engine tests."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from devtools.devhost.invoke import on_worker_loop
from devtools.durable import DurableEngine, InMemoryStore, InstanceStore
from tests.devtools.durable import sample_app

T = TypeVar("T")
EngineFactory = Callable[..., DurableEngine]


def write_host_json(directory: Path, states: str | None) -> Path:
    durable: dict[str, Any] = {"hubName": "TestHub"}
    if states is not None:
        durable["overridableExistingInstanceStates"] = states
    path = directory / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"durableTask": durable}}), encoding="utf-8")
    return path


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[EngineFactory]:
    sample_app.reset()
    engines: list[DurableEngine] = []

    def factory(
        *,
        store: InstanceStore | None = None,
        states: str | None = "NonRunningStates",
        activity_workers: int = 4,
        time_scale: float = 0.001,
        atomic_create: bool = True,
    ) -> DurableEngine:
        engine = DurableEngine(
            sample_app.FUNCTIONS,
            store=store if store is not None else InMemoryStore(),
            host_json=write_host_json(tmp_path, states),
            activity_workers=activity_workers,
            time_scale=time_scale,
            atomic_create=atomic_create,
        )
        engines.append(engine.start())
        return engine

    yield factory
    sample_app.gate.set()
    for engine in engines:
        engine.stop()


@pytest.fixture
def engine(make_engine: EngineFactory) -> DurableEngine:
    return make_engine()


def run_client(body: Callable[[], Awaitable[T]]) -> T:
    """Run client code on the process's one worker loop, as the Python worker and the local host do:
    the SDK's shared aiohttp session is bound to the loop it was first used on."""
    return on_worker_loop(body())
