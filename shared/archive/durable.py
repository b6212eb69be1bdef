"""Durable's client as the archive reads it: the typed client (shared.durable_client) and an instance's
runtime status in the archive's words (shared.archive.states)."""

from __future__ import annotations

from shared.archive.states import RuntimeStatus, runtime_status
from shared.durable_client import DurableClient, OrchestrationStatus

__all__ = ["DurableClient", "OrchestrationStatus", "current_runtime_status"]


async def current_runtime_status(client: DurableClient, instance_id: str) -> RuntimeStatus | None:
    """The instance's runtime status; None when there is no such instance."""
    return runtime_status((await client.get_status(instance_id)).runtime_status)
