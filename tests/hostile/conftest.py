"""One local stack for the whole folder (started once: generated requests are many, the machine small),
plus what the audit at the end needs: every response received, every log record, a trap port.

`HOSTILE_EXAMPLES=N` multiplies every generated example count by N for a longer soak.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from shared.settings import current_settings
from tests.conftest import _reset
from tests.hostile.callback_strategies import Tokens
from tests.hostile.capture import LogCorpus, Traffic
from tests.hostile.trap import Trap, connection_trap
from tests.support.callback_receiver import callback_receiver
from tests.support.local_stack import EVENT_FUNCTION, LocalStack

HERE = Path(__file__).resolve().parent
OPENAPI: dict[str, Any] = json.loads((HERE.parents[1] / "docs" / "openapi.json").read_text(encoding="utf-8"))
AUDIT_MODULE = "test_traffic_audit.py"  # runs last: it judges what the others produced
_COLLECTED = pytest.StashKey[set[str]]()
_TRAFFIC = pytest.StashKey[Traffic]()


def examples(count: int) -> int:
    """`count` generated examples, times HOSTILE_EXAMPLES (default 1)."""
    return count * max(1, int(os.environ.get("HOSTILE_EXAMPLES", "1")))


def pytest_itemcollected(item: pytest.Item) -> None:
    item.config.stash.setdefault(_COLLECTED, set()).add(item.nodeid)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The audit module's tests go after every other test of this folder (and stay in it, so the
    folder's package-scoped captures are still the ones they judge)."""
    positions = [index for index, item in enumerate(items) if item.path.parent == HERE]
    ours = [items[index] for index in positions]
    ours.sort(key=lambda item: item.path.name == AUDIT_MODULE)
    for index, item in zip(positions, ours, strict=True):
        items[index] = item


def whole_folder_selected(session: pytest.Session) -> bool:
    """Every test module of this folder was collected, and none of its tests deselected."""
    selected = {item.nodeid for item in session.items}
    modules = {item.path.name for item in session.items if item.path.parent == HERE}
    collected = session.config.stash.get(_COLLECTED, set())
    return modules == {path.name for path in HERE.glob("test_*.py")} and collected <= selected


@pytest.fixture(scope="package")
def stack_logs() -> Iterator[LogCorpus]:
    """Every INFO-and-above record of the process while the folder runs: the local host, the app,
    the Durable engine and the SDKs all log here, as they would to a Functions log sink."""
    corpus = LogCorpus()
    root = logging.getLogger()
    level = root.level
    root.addHandler(corpus)
    root.setLevel(logging.INFO)
    yield corpus
    root.removeHandler(corpus)
    root.setLevel(level)


@pytest.fixture(scope="package")
def function_key() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="package")
def telemetry_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the app's worker writes its telemetry (devtools/telemetry_files.py), scanned at the end."""
    return tmp_path_factory.mktemp("telemetry")


@pytest.fixture(scope="package")
def hostile_stack(
    azurite: Azurite, emulator: AcsEmulator, stack_logs: LogCorpus, function_key: str, telemetry_dir: Path
) -> Iterator[LocalStack]:
    """The app on the local host with its Durable engine, configured as `app_settings` does."""
    with pytest.MonkeyPatch.context() as env, ExitStack() as cleanup:
        receiver = cleanup.enter_context(callback_receiver())
        settings = {
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "CATALOG_TABLE": f"hostile{uuid.uuid4().hex[:12]}",
            "ARCHIVE_CONTAINER": f"hostile-{uuid.uuid4().hex[:12]}",
            "ARCHIVE_DELETE_SOURCE": "false",
            "ACS_RESOURCE_ID": emulator.resource_id,
            "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
            "RECORDING_STATE_CALLBACK_URL": receiver.url,
            "DEVHOST_TELEMETRY_DIR": str(telemetry_dir),
        }
        for name, value in settings.items():
            env.setenv(name, value)
        for name in ("ACS_ENDPOINT", "ARCHIVE_STORAGE_ACCOUNT_URL", "AzureWebJobsStorage"):
            env.delenv(name, raising=False)
        _reset()
        cleanup.callback(_reset)
        cleanup.enter_context(emulator.loopback_dns())
        stack = LocalStack(azurite, emulator, current_settings(), function_key=function_key).start()
        cleanup.callback(stack.stop)
        yield stack


@pytest.fixture
def event_webhook(hostile_stack: LocalStack, emulator: AcsEmulator) -> str:
    """The stack's Event Grid webhook, subscribed again (the session emulator forgets it per test)."""
    assert hostile_stack.host is not None
    url = hostile_stack.host.event_grid_url(EVENT_FUNCTION)
    if all(webhook.url != url for webhook in emulator.event_webhooks):
        emulator.add_event_webhook(url)
    return url


@pytest.fixture(scope="package")
def api(hostile_stack: LocalStack) -> str:
    assert hostile_stack.host is not None
    return f"{hostile_stack.host.base_url}/api"


@pytest.fixture(scope="package")
def traffic(request: pytest.FixtureRequest) -> Traffic:
    request.config.stash[_TRAFFIC] = Traffic(OPENAPI)
    return request.config.stash[_TRAFFIC]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """How many generated requests each route received: the figure the audit's floor is about."""
    traffic = config.stash.get(_TRAFFIC, None)
    if traffic is None:
        return
    terminalreporter.section("hostile traffic")
    terminalreporter.line(f"{traffic.total} requests answered")
    for route, count in sorted(traffic.counts.items()):
        answers = ", ".join(
            f"{status}: {n}" for (of, status), n in sorted(traffic.statuses.items()) if of == route
        )
        terminalreporter.line(f"  {count:5d}  {route}  ({answers})")


@pytest.fixture(scope="package")
def trap() -> Iterator[Trap]:
    with connection_trap() as running:
        yield running


@pytest.fixture(scope="package")
def tokens(emulator: AcsEmulator) -> Tokens:
    return Tokens(emulator)


def account_key(connection_string: str) -> str:
    found = re.search(r"AccountKey=([^;]+)", connection_string)
    assert found is not None
    return found.group(1)
