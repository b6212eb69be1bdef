"""The app on the local host with its Durable engine, over real HTTP: what e2e and hostile tests drive."""

from __future__ import annotations

import uuid
from pathlib import Path

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from devtools.demo import Stack
from devtools.devhost import DevHost
from devtools.durable import DurableEngine, TableStore
from shared.settings import Settings
from tests.support.functions import indexed_functions

REPO = Path(__file__).resolve().parents[2]
EVENT_FUNCTION = "on_acs_event"
KEY = "e2e-function-key"


class LocalStack:
    """The app on the local host with its Durable engine; can be restarted like a crashed host."""

    def __init__(
        self, azurite: Azurite, emulator: AcsEmulator, settings: Settings, *, function_key: str = KEY
    ) -> None:
        self.azurite, self.emulator, self.settings = azurite, emulator, settings
        self.function_key = function_key
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
            functions,
            port=self.port,
            function_key=self.function_key,
            durable_client=self.engine.client_binding_json,
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
                "functionKey": self.function_key,
                "emulator": self.emulator.endpoint,
                "emulatorCa": self.emulator.ca_pem_path,
                "storage": self.azurite.connection_string,
                "container": self.settings.archive_container,
            }
        )
