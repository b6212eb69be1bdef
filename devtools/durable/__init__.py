"""A local Durable Functions engine for tests and the dev host (no Functions Core Tools needed).

engine = DurableEngine(functions, store=InMemoryStore(), host_json=Path("host.json"))
engine.start()
engine.start_new("orchestrator", instance_id="x", input={...})
engine.wait_for("x", timeout=10)
engine.client_binding_json()  # for DurableOrchestrationClient(...)
engine.stop()
"""

from devtools.durable.clock import Clock
from devtools.durable.engine import DurableEngine, UnknownOrchestratorError
from devtools.durable.store import (
    ConcurrencyError,
    InMemoryStore,
    InstanceExistsError,
    InstanceRecord,
    InstanceStore,
    TableStore,
)

__all__ = [
    "Clock",
    "ConcurrencyError",
    "DurableEngine",
    "InMemoryStore",
    "InstanceExistsError",
    "InstanceRecord",
    "InstanceStore",
    "TableStore",
    "UnknownOrchestratorError",
]
