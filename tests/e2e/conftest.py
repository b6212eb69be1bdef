"""A whole local stack per test: Azurite-backed Durable engine + local host + emulator webhook."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from shared.settings import Settings
from tests.support.functions import indexed_functions
from tools.acs_emulator import AcsEmulator
from tools.azurite import Azurite
from tools.demo import Stack
from tools.devhost import DevHost
from tools.durable import DurableEngine, TableStore

REPO = Path(__file__).resolve().parents[2]
EVENT_FUNCTION = "on_recording_file_status_updated"
KEY = "e2e-function-key"


class LocalStack:
    """The app on the local host with its Durable engine; can be restarted like a crashed host."""

    def __init__(self, azurite: Azurite, emulator: AcsEmulator, settings: Settings) -> None:
        self.azurite, self.emulator, self.settings = azurite, emulator, settings
        self.table = f"e2e{uuid.uuid4().hex[:12]}"
        self.engine: DurableEngine | None = None
        self.host: DevHost | None = None
        self.port = 0

    def start(self) -> LocalStack:
        functions = list(indexed_functions())
        self.engine = DurableEngine(
            functions,
            store=TableStore(self.azurite.connection_string, self.table),
            host_json=REPO / "host.json",
            activity_workers=4,
            time_scale=0.001,
        ).start()
        self.host = DevHost(
            functions, port=self.port, function_key=KEY, durable_client=self.engine.client_binding_json
        ).start()
        self.port = self.host.port  # a restart comes back on the same address
        self.emulator.clear_event_webhooks()
        self.emulator.add_event_webhook(self.host.event_grid_url(EVENT_FUNCTION), validate=True)
        return self

    def stop(self) -> None:
        if self.host is not None:
            self.host.stop()
        if self.engine is not None:
            self.engine.stop()
        self.host = self.engine = None

    def client(self) -> Stack:
        assert self.host is not None
        return Stack(
            {
                "api": f"{self.host.base_url}/api",
                "functionKey": KEY,
                "emulator": self.emulator.endpoint,
                "emulatorCa": self.emulator.ca_pem_path,
                "storage": self.azurite.connection_string,
                "container": self.settings.archive_container,
            }
        )


@pytest.fixture
def local_stack(app_settings: Settings, azurite: Azurite, emulator: AcsEmulator) -> Iterator[LocalStack]:
    with ExitStack() as cleanup:
        cleanup.enter_context(emulator.loopback_dns())
        stack = LocalStack(azurite, emulator, app_settings).start()
        cleanup.callback(stack.stop)
        yield stack
