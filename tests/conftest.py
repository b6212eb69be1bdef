"""Session-wide servers: the real Azurite and the ACS emulator, on free loopback ports.

Every test is marked by its folder (`-m unit`, `-m emulator`, ...); the servers start lazily, on
the first test that asks for them, so `-m unit` starts none.
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite, running_azurite
from devtools.event_grid import LocalTopic
from devtools.stack.__main__ import timer_schedules
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.callback_receiver import Receiver, callback_receiver
from tests.support.tls import trusting

TESTS = Path(__file__).resolve().parent
# Each one is registered in pyproject.toml.
FOLDER_MARKERS = ("unit", "emulator", "durable", "integration", "e2e", "chaos", "hostile")
# The dev tools' own tests (tests/devtools/<tool>) are marked by the tool they test.
DEVTOOLS_MARKERS = {"emulator": "emulator", "durable": "durable", "devhost": "e2e", "stack": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder: tests/unit -> `unit`, tests/e2e -> `e2e`, ..."""
    for item in items:
        try:
            parts = item.path.resolve().relative_to(TESTS).parts
        except ValueError:
            continue
        folder = DEVTOOLS_MARKERS.get(parts[1], "") if parts[0] == "devtools" else parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with running_azurite() as server:
        yield server


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcsEmulator]:
    with (
        AcsEmulator(host="127.0.0.1", port=0) as server,
        trusting(Path(server.ca_pem_path), tmp_path_factory.mktemp("tls")),
    ):
        yield server


@pytest.fixture(scope="session")
def event_grid_topic(emulator: AcsEmulator) -> Iterator[LocalTopic]:
    """The local Event Grid topic, signed in to with the emulator's Entra tokens (devtools/event_grid)."""
    client_tls = ssl.create_default_context(cafile=emulator.ca_pem_path)
    with LocalTopic(emulator.entra, emulator.ca, client_tls) as topic:
        yield topic


@pytest.fixture
def lifecycle_topic(
    app_settings: Settings,
    event_grid_topic: LocalTopic,
    emulator: AcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[LocalTopic]:
    """The app publishes its lifecycle events to the local topic, with the identity endpoint's tokens
    (ask for it before the app's processes start: they take the environment as it is then)."""
    event_grid_topic.reset()
    monkeypatch.setenv("EVENT_GRID_TOPIC_ENDPOINT", event_grid_topic.endpoint)
    for name, value in emulator.identity.environment.items():
        monkeypatch.setenv(name, value)
    _reset()
    yield event_grid_topic
    event_grid_topic.reset()


def _reset() -> None:
    reset_worker_caches()


IDENTITY_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_CLIENT_ID")


def acs_auth() -> str:
    """How the app signs in to ACS in this run: `key` (default) or `identity` (managed identity:
    `TEST_ACS_AUTH=identity`, which `make test` uses for a second run of the control and archive
    suites)."""
    mode = os.environ.get("TEST_ACS_AUTH", "key")
    if mode not in ("key", "identity"):
        raise pytest.UsageError(f"TEST_ACS_AUTH must be key or identity, not {mode!r}")
    return mode


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with callback_receiver() as server:
        yield server


@pytest.fixture
def app_settings(
    monkeypatch: pytest.MonkeyPatch, emulator: AcsEmulator, azurite: Azurite, receiver: Receiver
) -> Iterator[Settings]:
    """The app's environment, as local.settings.json would give it."""
    env = {
        "ACS_CONNECTION_STRING": emulator.connection_string,
        "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "CATALOG_TABLE": f"catalog{uuid.uuid4().hex[:12]}",
        "ARCHIVE_CONTAINER": f"archive-{uuid.uuid4().hex[:12]}",
        "ARCHIVE_DELETE_SOURCE": "false",
        "ACS_RESOURCE_ID": emulator.resource_id,
        "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
        "RECORDING_STATE_CALLBACK_URL": receiver.url,
        **timer_schedules(),  # the host resolves the timers' %SETTING% schedules before it starts
    }
    unset = ["ACS_ENDPOINT", "ARCHIVE_STORAGE_ACCOUNT_URL", "AzureWebJobsStorage", *IDENTITY_VARIABLES]
    if acs_auth() == "identity":  # ACS through Microsoft Entra ID, no access key anywhere
        del env["ACS_CONNECTION_STRING"]
        env.update(emulator.managed_identity_environment)
        unset.remove("ACS_ENDPOINT")
        unset = [name for name in unset if name not in env]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    _reset()
    yield current_settings()
    _reset()


@pytest.fixture(autouse=True)
def _restore_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """The emulator lives for the session: undo per-test knobs (chunk size, redirect, file event delay,
    CallEnded's duration name, faults, webhooks)."""
    if "emulator" not in request.fixturenames:
        yield
        return
    server: AcsEmulator = request.getfixturevalue("emulator")
    chunk_bytes, regional = server.max_chunk_bytes, server.regional_content_host
    file_delay, duration_field = server.file_status_delay, server.call_duration_field
    yield
    server.max_chunk_bytes, server.regional_content_host = chunk_bytes, regional
    server.file_status_delay, server.call_duration_field = file_delay, duration_field
    server.ignore_range = False
    server.clear_faults()
    server.clear_event_webhooks()


@pytest.fixture
def result_settled(emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's (preview) result route says the session ended as soon as a recording stops."""
    monkeypatch.setattr(emulator, "result_pending_seconds", 0.0)


@pytest.fixture
def result_still_ongoing(emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The result route says SessionStillOngoing (as captured 4 s after a stop) for an hour."""
    monkeypatch.setattr(emulator, "result_pending_seconds", 3600.0)
