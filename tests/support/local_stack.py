"""The app on the local host with its Durable engine, over real HTTP: what e2e and hostile tests drive.

The app runs in the Python worker (`devtools.pyworker`, the worker's own code on Python 3.13), as in
`make run`; the host, the engine and the test stay in this process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from devtools.demo import Stack
from devtools.devhost import DevHost
from devtools.devhost.durable import durable_engine
from devtools.durable import DurableEngine
from devtools.event_grid import LocalTopic
from devtools.pyworker.channel import WorkerProcess
from devtools.stack.__main__ import timer_schedules
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]
EVENT_FUNCTION = "on_acs_event"
KEY = "e2e-function-key"


def worker_environ() -> dict[str, str]:
    """This process's settings, with the timers' %SETTING% schedules local.settings.json.example
    gives where a test set none (the host resolves them before it starts)."""
    return {**timer_schedules(), **os.environ}


@contextmanager
def hosted_app(
    *,
    emulator: AcsEmulator | None = None,
    durable_client: Callable[[], str] | None = None,
    function_key: str | None = None,
) -> Iterator[DevHost]:
    """The app in the Python worker (started with this process's settings) behind the local host."""
    dns_port = emulator.port if emulator else None
    worker = WorkerProcess(REPO, emulator_dns_port=dns_port, environ=worker_environ()).start()
    try:
        with DevHost(worker, port=0, function_key=function_key, durable_client=durable_client) as host:
            yield host
    finally:
        worker.stop()


class LocalStack:
    """The app on the local host with its Durable engine; can be restarted like a crashed host."""

    def __init__(
        self,
        azurite: Azurite,
        emulator: AcsEmulator,
        settings: Settings,
        *,
        function_key: str = KEY,
        topic: LocalTopic | None = None,
    ) -> None:
        self.azurite, self.emulator, self.settings = azurite, emulator, settings
        self.topic = topic  # the lifecycle events' topic, when the app's settings name it
        self.function_key = function_key
        self.table = f"e2e{uuid.uuid4().hex[:12]}"
        self.engine: DurableEngine | None = None
        self.host: DevHost | None = None
        self.worker: WorkerProcess | None = None
        self.port = 0

    def start(self) -> LocalStack:
        """The worker (with this process's settings), the engine on Azurite, the host; the webhook."""
        self.worker = WorkerProcess(
            REPO, emulator_dns_port=self.emulator.port, environ=worker_environ()
        ).start()
        self.engine = durable_engine(
            self.worker,
            storage=self.azurite.connection_string,
            host_json=REPO / "host.json",
            table=self.table,
            time_scale=0.001,
        ).start()
        self.host = DevHost(
            self.worker,
            port=self.port,
            function_key=self.function_key,
            durable_client=self.engine.client_binding_json,
        ).start()
        self.port = self.host.port  # a restart comes back on the same address
        self.emulator.clear_event_webhooks()
        self.emulator.add_event_webhook(self.host.event_grid_url(EVENT_FUNCTION), validate=True)
        return self

    def stop(self) -> None:
        """Like a host that dies: the worker ends at once, with whatever it was running."""
        if self.host is not None:
            self.host.stop()
        if self.engine is not None:
            self.engine.stop()
        if self.worker is not None:
            self.worker.stop()
        self.host = self.engine = self.worker = None

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
                **({"eventTopicAdmin": self.topic.admin_url} if self.topic else {}),
            }
        )
