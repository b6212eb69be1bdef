"""Archive pipeline fixtures: a Durable engine, the local host on the emulator's webhook, the container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine, InMemoryStore
from shared.settings import Settings
from shared.worker_cache import reset_worker_caches
from tests.support.archive import EVENT_FUNCTION, REPO
from tests.support.functions import indexed_functions
from tests.support.local_stack import hosted_app


@pytest.fixture
def engine(app_settings: Settings) -> Iterator[DurableEngine]:
    with DurableEngine(
        list(indexed_functions()),
        store=InMemoryStore(),
        host_json=REPO / "host.json",
        activity_workers=4,
        time_scale=0.001,
    ) as running:
        yield running


@pytest.fixture
def host(engine: DurableEngine, emulator: AcsEmulator) -> Iterator[DevHost]:
    # The triggers run in the Python worker; the engine (orchestrators, activities) in this process.
    with (
        hosted_app(emulator=emulator, durable_client=engine.client_binding_json) as running,
        emulator.loopback_dns(),
    ):
        emulator.add_event_webhook(running.event_grid_url(EVENT_FUNCTION))
        yield running
        emulator.clear_event_webhooks()
        emulator.clear_faults()


@pytest.fixture
def container(app_settings: Settings, azurite: Any) -> ContainerClient:
    return ContainerClient.from_connection_string(azurite.connection_string, app_settings.archive_container)


@pytest.fixture
def short_deadline(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive that keeps failing is Lost at once: the deadline is one (virtual) minute after the
    file event, and the engine's clock runs 1000 times faster than the wall's."""
    monkeypatch.setenv("ARCHIVE_DEADLINE_MINUTES", "1")
    reset_worker_caches()
