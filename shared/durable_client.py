"""The part of the Durable Functions client the app uses, typed (the archive, and the recording policy's
retries).

`azure-functions-durable` ships no type information, so its client would be `Any` wherever it is
passed. These Protocols name exactly what we call and read (the SDK's `DurableOrchestrationClient`
and `DurableOrchestrationStatus` satisfy them); mypy then checks every use, and a test double or
the local host's client must offer the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class OrchestrationStatus(Protocol):
    """What `get_status` answers (for an unknown instance, every field is None)."""

    @property
    def runtime_status(self) -> object: ...  # the SDK's OrchestrationRuntimeStatus enum, or None

    @property
    def custom_status(self) -> Any: ...

    @property
    def created_time(self) -> datetime | None: ...

    @property
    def last_updated_time(self) -> datetime | None: ...

    @property
    def input_(self) -> Any: ...


class DurableClient(Protocol):
    """The calls the archive makes on Durable's client binding."""

    async def get_status(
        self,
        instance_id: str,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = False,
    ) -> OrchestrationStatus: ...

    async def start_new(
        self, orchestration_function_name: str, instance_id: str | None = None, client_input: Any = None
    ) -> str: ...

    async def raise_event(
        self,
        instance_id: str,
        event_name: str,
        event_data: Any = None,
        task_hub_name: str | None = None,
        connection_name: str | None = None,
    ) -> None: ...
