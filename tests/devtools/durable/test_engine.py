"""Real orchestrator code under replay: fan-out/fan-in, retries, timers, events, non-determinism."""

from __future__ import annotations

import time
from datetime import datetime

from devtools.durable import DurableEngine
from devtools.durable.history import EventType
from tests.devtools.durable import sample_app
from tests.devtools.durable.conftest import EngineFactory


def _history_types(engine: DurableEngine, instance_id: str) -> list[int]:
    status = engine.get_status(instance_id, show_history=True)
    assert status is not None
    return [event["EventType"] for event in status["history"]]


def test_fan_out_fan_in_runs_activities_in_parallel_bounded_by_workers(make_engine: EngineFactory) -> None:
    engine = make_engine(activity_workers=2)
    engine.start_new("fan_out_fan_in", "fan", {"n": 6, "fail_times": 0, "attempts": 1, "sleep": 0.1})
    status = engine.wait_for("fan", timeout=10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == sum(i * i for i in range(6))
    assert status["customStatus"] == {"stage": "done"}
    assert sample_app.max_running == 2
    types = _history_types(engine, "fan")
    assert types[:2] == [EventType.ORCHESTRATOR_STARTED, EventType.EXECUTION_STARTED]
    assert types.count(EventType.TASK_SCHEDULED) == 6
    assert types.count(EventType.TASK_COMPLETED) == 6
    assert types[-1] == EventType.EXECUTION_COMPLETED


def test_retry_until_success(engine: DurableEngine) -> None:
    engine.start_new("fan_out_fan_in", "retry-ok", {"n": 3, "fail_times": 2, "attempts": 3})
    status = engine.wait_for("retry-ok", timeout=10)
    assert status["runtimeStatus"] == "Completed", status["output"]
    assert status["output"] == 0 + 1 + 4
    assert all(sample_app.attempts[f"retry-ok-{i}"] == 3 for i in range(3))
    types = _history_types(engine, "retry-ok")
    assert types.count(EventType.TASK_FAILED) == 6
    assert types.count(EventType.TIMER_CREATED) == 6  # one durable retry timer per failure
    assert types.count(EventType.TASK_SCHEDULED) == 9


def test_retry_exhausted_fails_with_the_error_message(engine: DurableEngine) -> None:
    engine.start_new("fan_out_fan_in", "retry-ko", {"n": 1, "fail_times": 9, "attempts": 2})
    status = engine.wait_for("retry-ko", timeout=10)
    assert status["runtimeStatus"] == "Failed"
    assert "boom retry-ko-0 attempt 2" in status["output"]
    assert status["output"].startswith("Orchestrator function 'fan_out_fan_in' failed:")
    assert sample_app.attempts["retry-ko-0"] == 2
    # DTFx semantics the SDK relies on: a timer after the last failed attempt too.
    assert _history_types(engine, "retry-ko").count(EventType.TIMER_FIRED) == 2


def test_durable_timer_advances_orchestration_time(make_engine: EngineFactory) -> None:
    engine = make_engine(time_scale=0.0002)  # 1 h of durable time = 0.72 s
    began = time.monotonic()
    engine.start_new("with_timer", "timer")
    status = engine.wait_for("timer", timeout=10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["waited_s"] >= 3600
    assert time.monotonic() - began < 5
    types = _history_types(engine, "timer")
    assert EventType.TIMER_CREATED in types
    assert EventType.TIMER_FIRED in types


def test_a_timer_longer_than_the_storage_backend_allows_fires_in_intervals(
    make_engine: EngineFactory,
) -> None:
    """The extension tells the SDK the Azure Storage backend's timer limits (6 days at most, 3-day
    intervals); the SDK then splits a 10-day timer into timers 3 days apart, as it does on Azure."""
    engine = make_engine(time_scale=0.000002)  # 10 days of durable time = 1.7 s
    engine.start_new("long_timer", "long")
    status = engine.wait_for("long", timeout=20)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] >= 10 * 24 * 3600
    history = engine.get_status("long", show_history=True)
    assert history is not None
    started = datetime.fromisoformat(history["history"][0]["Timestamp"].replace("Z", "+00:00"))
    fire_at = [
        datetime.fromisoformat(event["FireAt"].replace("Z", "+00:00"))
        for event in history["history"]
        if event["EventType"] == EventType.TIMER_CREATED
    ]
    days = [round((moment - started).total_seconds() / 86400, 1) for moment in fire_at]
    assert days == [3.0, 6.0, 10.0]  # at 6 days, 4 remain: under the 6-day maximum, one last timer


def test_custom_status_is_visible_while_running(engine: DurableEngine) -> None:
    sample_app.gate.clear()
    engine.start_new("slow_steps", "slow", 2)
    status = engine.wait_for("slow", timeout=5, statuses={"Running"})
    assert status["customStatus"] == {"step": 0}
    sample_app.gate.set()
    status = engine.wait_for("slow", timeout=5)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 0 + 2
    assert status["customStatus"] == {"step": 1}


def test_external_event_completes_waiting_orchestration(engine: DurableEngine) -> None:
    engine.start_new("approval", "approve")
    status = engine.wait_for("approve", timeout=5, statuses={"Running"})
    assert status["customStatus"] == "waiting for approval"
    assert engine.raise_event("approve", "Approval", {"by": "alice"}) == "ok"
    status = engine.wait_for("approve", timeout=5)
    assert status["output"] == {"approved": {"by": "alice"}}


def test_non_deterministic_orchestrator_fails(engine: DurableEngine) -> None:
    engine.start_new("non_deterministic", "nd")
    status = engine.wait_for("nd", timeout=5)
    assert status["runtimeStatus"] == "Failed"
    assert "Non-Deterministic workflow detected" in status["output"]
    assert "step_a" in status["output"]


def test_sub_orchestration(engine: DurableEngine) -> None:
    engine.start_new("parent", "parent")
    status = engine.wait_for("parent", timeout=5)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 0 + 2 + 1


def test_orchestrator_continues_after_retried_tasks_fail_inside_task_all(make_engine: EngineFactory) -> None:
    """Regression: schema V2 sends every top-level action in one list; it is not a task_all."""
    for attempt in range(5):  # timing varies the history's interleaving; every run must replay
        engine = make_engine()
        engine.start_new("keep_going_after_failure", f"keep-going-{attempt}", None)
        status = engine.wait_for(f"keep-going-{attempt}", timeout=10)
        assert (status["runtimeStatus"], status["output"]) == ("Completed", 1)
