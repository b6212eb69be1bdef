"""A small DFApp exercising the engine: fan-out/fan-in with retries, timers, events, non-determinism."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Test instrumentation (activities run on the engine's thread pool).
lock = threading.Lock()
attempts: defaultdict[str, int] = defaultdict(int)
running = 0
max_running = 0
replays: defaultdict[str, int] = defaultdict(int)
gate = threading.Event()
gate.set()


def reset() -> None:
    global running, max_running
    with lock:
        attempts.clear()
        replays.clear()
        running = 0
        max_running = 0
    gate.set()


@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    spec = context.get_input()
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=spec.get("retry_ms", 100),
        max_number_of_attempts=spec["attempts"],
    )
    context.set_custom_status({"stage": "fanning out", "n": spec["n"]})
    tasks = [
        context.call_activity_with_retry(
            "flaky_square",
            retry,
            {
                "x": i,
                "fail_times": spec["fail_times"],
                "key": f"{context.instance_id}-{i}",
                "sleep": spec.get("sleep", 0),
            },
        )
        for i in range(spec["n"])
    ]
    results = yield context.task_all(tasks)
    context.set_custom_status({"stage": "done"})
    return sum(results)


@app.activity_trigger(input_name="job")
async def flaky_square(job: dict[str, Any]) -> int:
    global running, max_running
    with lock:
        attempts[job["key"]] += 1
        attempt = attempts[job["key"]]
        running += 1
        max_running = max(max_running, running)
    try:
        if job.get("sleep"):
            await asyncio.sleep(job["sleep"])
        if attempt <= job["fail_times"]:
            raise ValueError(f"boom {job['key']} attempt {attempt}")
        return int(job["x"]) ** 2
    finally:
        with lock:
            running -= 1


@app.orchestration_trigger(context_name="context")
def slow_steps(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Sequential activities that wait on a gate: used to stop the engine mid-orchestration."""
    total = 0
    for i in range(context.get_input()):
        context.set_custom_status({"step": i})
        total += yield context.call_activity("gated_double", i)
    return total


@app.activity_trigger(input_name="value")
def gated_double(value: int) -> int:
    gate.wait(10)
    return value * 2


@app.orchestration_trigger(context_name="context")
def with_timer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(hours=1))
    after = context.current_utc_datetime
    return {
        "start": start.isoformat(),
        "after": after.isoformat(),
        "waited_s": (after - start).total_seconds(),
    }


@app.orchestration_trigger(context_name="context")
def long_timer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(days=10))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    context.set_custom_status("waiting for approval")
    timeout = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timeout])
    if winner == event:
        timeout.cancel()
        return {"approved": event.result}
    return {"approved": None}


@app.orchestration_trigger(context_name="context")
def non_deterministic(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    # Deliberately wrong: depends on how often this process replayed it.
    replays[context.instance_id] += 1
    name = "step_a" if replays[context.instance_id] == 1 else "step_b"
    yield context.call_activity(name, 1)
    return "unreachable"


@app.activity_trigger(input_name="value")
def step_a(value: int) -> int:
    return value


@app.activity_trigger(input_name="value")
def step_b(value: int) -> int:
    return value


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    first = yield context.call_sub_orchestrator("slow_steps", 2)
    return first + 1


@app.orchestration_trigger(context_name="context")
def keep_going_after_failure(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """task_all over retried activities that fail, caught, then more work (the action list grows)."""
    retry = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
    tasks = [
        context.call_activity_with_retry(
            "flaky_square", retry, {"key": f"{context.instance_id}-{i}", "x": i, "fail_times": 9}
        )
        for i in range(2)
    ]
    try:
        yield context.task_all(tasks)
        failed = 0
    except Exception:
        failed = 1
    after = yield context.call_activity("step_a", failed)
    return after


@app.route(route="start/{name}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


FUNCTIONS = app.get_functions()  # may be called only once per app: index here, share everywhere
