"""Table storage (real Azurite): restart mid-orchestration, and atomic check-and-create."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid

import pytest

from devtools.azurite import Azurite
from devtools.durable import InstanceExistsError, InstanceRecord, TableStore
from tests.devtools.durable import sample_app
from tests.devtools.durable.conftest import EngineFactory

pytestmark = pytest.mark.integration


def _store(azurite: Azurite, table: str) -> TableStore:
    return TableStore(azurite.connection_string, table_name=table)


def test_engine_restart_resumes_orchestration_in_flight(azurite: Azurite, make_engine: EngineFactory) -> None:
    table = f"durable{uuid.uuid4().hex[:12]}"
    sample_app.gate.clear()
    first = make_engine(store=_store(azurite, table))
    first.start_new("slow_steps", "resume", 3)
    status = first.wait_for("resume", timeout=10, statuses={"Running"})
    assert status["customStatus"] == {"step": 0}
    first.stop()  # "crash" while gated_double(0) is still running: its result is lost

    second = make_engine(store=_store(azurite, table))
    assert second.get_status("resume")["runtimeStatus"] == "Running"  # type: ignore[index]
    sample_app.gate.set()  # the re-scheduled activity (and the old, orphaned one) can finish now
    status = second.wait_for("resume", timeout=10)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 0 + 2 + 4
    history = second.get_status("resume", show_history=True)
    assert history is not None
    completed_ids = [e["TaskScheduledId"] for e in history["history"] if e["EventType"] == 5]
    assert sorted(completed_ids) == [0, 1, 2]  # the first activity's lost result was not duplicated


def test_table_store_concurrent_creates_yield_one_instance(
    azurite: Azurite, make_engine: EngineFactory
) -> None:
    table = f"durable{uuid.uuid4().hex[:12]}"
    stores = [_store(azurite, table) for _ in range(5)]  # separate clients: Table storage decides the race
    results: list[str] = []
    barrier = threading.Barrier(len(stores))

    def create(store: TableStore, n: int) -> None:
        record = InstanceRecord("race", "slow_steps", f"exec{n}", "1", "Pending", "t", "t")
        barrier.wait()
        try:
            store.create(record, ("Pending", "Running", "ContinuedAsNew"))
            results.append(f"exec{n}")
        except InstanceExistsError:
            results.append("refused")

    threads = [threading.Thread(target=create, args=(store, n)) for n, store in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r != "refused"]
    assert len(winners) == 1, results
    stored = stores[0].get("race")
    assert stored is not None
    assert stored.execution_id == winners[0]
    for store in stores:
        store.close()


def test_table_store_start_semantics(azurite: Azurite, make_engine: EngineFactory) -> None:
    sample_app.gate.clear()
    engine = make_engine(store=_store(azurite, f"durable{uuid.uuid4().hex[:12]}"))
    engine.start_new("slow_steps", "again", 1)
    engine.wait_for("again", timeout=10, statuses={"Running"})
    with pytest.raises(InstanceExistsError, match="status Running already exists"):
        engine.start_new("slow_steps", "again", 1)
    sample_app.gate.set()
    assert engine.wait_for("again", timeout=10)["runtimeStatus"] == "Completed"
    engine.start_new("slow_steps", "again", 2)  # a Completed instance is replaced (ETag-conditional)
    assert engine.wait_for("again", timeout=10)["output"] == 2


def test_a_history_of_a_thousand_chunk_archive_fits_in_the_table_store(azurite: Azurite) -> None:
    # Uncompressed, the history of a 256-chunk archive passed Table storage's 1 MiB per entity and
    # the orchestration stalled (EntityTooLarge); an event may carry 1,000 chunks.
    store = _store(azurite, f"durable{uuid.uuid4().hex[:12]}")

    def result(index: int) -> str:  # what archive_chunk answers, with hashes as random as real ones
        digest = hashlib.sha256(str(index).encode()).hexdigest()
        document = hashlib.md5(str(index).encode()).hexdigest()  # noqa: S324 - a name, not security
        return json.dumps(
            {
                "index": index,
                "documentId": f"0-eus-d3-{document}",
                "sha256": digest,
                "size": 4194304,
                "blobName": f"2026/12/03/eyJQbGF0Zm9ybUVuZHBvaW50SWQi/{index:03d}-0-eus-d3-{document}.wav",
            }
        )

    # scheduled and completed events for 1,000 chunks, then some
    results = [{"EventType": 5, "TaskScheduledId": index, "Result": result(index)} for index in range(2500)]
    record = InstanceRecord("big", "archive_recording", "exec", "{}", "Running", "t", "t", history=results)
    store.create(record, ())
    stored = store.get("big")
    assert stored is not None
    assert stored.history == results
    stored.history.append({"EventType": 1})
    store.update(stored)
    again = store.get("big")
    assert again is not None
    assert len(again.history) == len(results) + 1
