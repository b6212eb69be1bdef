"""The durableClient binding: the SDK's DurableOrchestrationClient against the engine's HTTP API."""

from __future__ import annotations

import asyncio
import threading

import azure.durable_functions as df
import azure.functions as func
import pytest
import requests

from devtools.durable import DurableEngine, InstanceExistsError
from tests.devtools.durable import sample_app
from tests.devtools.durable.conftest import EngineFactory, run_client


def test_client_start_status_event_terminate_purge(engine: DurableEngine) -> None:
    binding = engine.client_binding_json()

    async def body() -> None:
        client = df.DurableOrchestrationClient(binding)
        instance_id = await client.start_new("approval", "c1", {"ignored": True})
        assert instance_id == "c1"
        for _ in range(200):
            status = await client.get_status("c1")
            if status.runtime_status == df.OrchestrationRuntimeStatus.Running:
                break
            await asyncio.sleep(0.01)
        assert status.custom_status == "waiting for approval"
        await client.raise_event("c1", "Approval", {"by": "bob"})
        for _ in range(200):
            status = await client.get_status("c1", show_history=True)
            if status.runtime_status == df.OrchestrationRuntimeStatus.Completed:
                break
            await asyncio.sleep(0.01)
        assert status.output == {"approved": {"by": "bob"}}
        assert any(e["EventType"] == "EventRaised" for e in status.historyEvents)

        await client.start_new("approval", "c2")
        await client.terminate("c2", "no longer needed")
        for _ in range(200):
            status = await client.get_status("c2")
            if status.runtime_status == df.OrchestrationRuntimeStatus.Terminated:
                break
            await asyncio.sleep(0.01)
        assert status.output == "no longer needed"
        with pytest.raises(Exception, match="is gone"):
            await client.raise_event("c2", "Approval", 1)

        everything = await client.get_status_all()
        assert {s.instance_id for s in everything} == {"c1", "c2"}
        done = await client.get_status_by(runtime_status=[df.OrchestrationRuntimeStatus.Terminated])
        assert [s.instance_id for s in done] == ["c2"]

        purged = await client.purge_instance_history("c2")
        assert purged.instances_deleted == 1
        assert not await client.get_status("c2")
        assert (await client.purge_instance_history("c2")).instances_deleted == 0
        with pytest.raises(Exception, match="No instance with ID"):
            await client.raise_event("nope", "Approval", 1)

        with pytest.raises(Exception, match="doesn't exist"):
            await client.start_new("no_such_orchestrator")

    run_client(body)


def test_check_status_response_urls_work(make_engine: EngineFactory) -> None:
    engine = make_engine(time_scale=0.0001)
    client = df.DurableOrchestrationClient(engine.client_binding_json())
    request = func.HttpRequest("POST", "http://localhost:7071/api/start/approval", body=b"{}")
    engine.start_new("with_timer", "urls")
    response = client.create_check_status_response(request, "urls")
    assert response.status_code == 202
    links = client.create_http_management_payload("urls")
    assert links["id"] == "urls"
    engine.wait_for("urls", timeout=5)
    got = requests.get(links["statusQueryGetUri"], timeout=5)
    assert got.status_code == 200
    assert got.json()["runtimeStatus"] == "Completed"

    async def body() -> func.HttpResponse:
        return await client.wait_for_completion_or_create_check_status_response(request, "urls", 2000, 100)

    done = run_client(body)
    assert done.status_code == 200


def test_non_running_states_refuses_second_start_of_running_instance(engine: DurableEngine) -> None:
    sample_app.gate.clear()
    engine.start_new("slow_steps", "dup", 1)
    engine.wait_for("dup", timeout=5, statuses={"Running"})
    binding = engine.client_binding_json()

    async def body() -> None:
        client = df.DurableOrchestrationClient(binding)
        with pytest.raises(
            Exception, match="An Orchestration instance with the status Running already exists"
        ):
            await client.start_new("slow_steps", "dup", 1)

    run_client(body)
    with pytest.raises(InstanceExistsError):
        engine.start_new("slow_steps", "dup", 1)
    sample_app.gate.set()
    assert engine.wait_for("dup", timeout=5)["runtimeStatus"] == "Completed"
    # Completed (and Failed) instances are replaced by a new start.
    engine.start_new("slow_steps", "dup", 2)
    assert engine.wait_for("dup", timeout=5)["output"] == 0 + 2
    engine.start_new("fan_out_fan_in", "dup-failed", {"n": 1, "fail_times": 9, "attempts": 1})
    assert engine.wait_for("dup-failed", timeout=5)["runtimeStatus"] == "Failed"
    engine.start_new("slow_steps", "dup-failed", 1)
    assert engine.wait_for("dup-failed", timeout=5)["runtimeStatus"] == "Completed"


def test_concurrent_starts_yield_one_instance(engine: DurableEngine) -> None:
    sample_app.gate.clear()
    binding = engine.client_binding_json()

    async def body() -> list[object]:
        client = df.DurableOrchestrationClient(binding)
        starts = [client.start_new("slow_steps", "race", 1) for _ in range(8)]
        return list(await asyncio.gather(*starts, return_exceptions=True))

    outcomes = run_client(body)
    assert outcomes.count("race") == 1, outcomes
    assert all("already exists" in str(o) for o in outcomes if o != "race")
    sample_app.gate.set()
    status = engine.wait_for("race", timeout=5)
    assert status["output"] == 0
    assert sample_app.attempts == {}  # slow_steps does not count; the history shows a single execution
    history = engine.get_status("race", show_history=True)
    assert history is not None
    assert sum(1 for e in history["history"] if e["EventType"] == 0) == 1


def test_any_state_replaces_running_instance(make_engine: EngineFactory) -> None:
    engine = make_engine(states="AnyState", time_scale=0.0001)
    sample_app.gate.clear()
    engine.start_new("slow_steps", "swap", 1)
    engine.wait_for("swap", timeout=5, statuses={"Running"})
    engine.start_new("with_timer", "swap")
    sample_app.gate.set()
    status = engine.wait_for("swap", timeout=5)
    assert status["name"] == "with_timer"
    assert status["runtimeStatus"] == "Completed"


def test_threaded_concurrent_starts_in_process(engine: DurableEngine) -> None:
    sample_app.gate.clear()
    results: list[str] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            results.append(engine.start_new("slow_steps", "threads", 1))
        except InstanceExistsError:
            results.append("refused")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused"] * 5 + ["threads"]
    sample_app.gate.set()
    engine.wait_for("threads", timeout=5)


def test_racing_starts_both_run_when_creation_is_not_atomic(make_engine: EngineFactory) -> None:
    engine = make_engine(atomic_create=False)
    sample_app.gate.clear()
    barrier = threading.Barrier(2)
    results: list[str] = []

    def start() -> None:
        barrier.wait()
        results.append(engine.start_new("slow_steps", "racy", 1))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["racy", "racy"]  # neither was refused, as in the Azure Storage backend
    assert len({execution for instance, execution in engine.created if instance == "racy"}) == 2
    sample_app.gate.set()
    assert engine.wait_for("racy", timeout=5)["runtimeStatus"] == "Completed"


def test_a_start_after_the_race_window_is_still_refused(make_engine: EngineFactory) -> None:
    engine = make_engine(atomic_create=False)
    sample_app.gate.clear()
    engine.start_new("slow_steps", "late", 1)
    with pytest.raises(InstanceExistsError):
        engine.start_new("slow_steps", "late", 1)
    sample_app.gate.set()
