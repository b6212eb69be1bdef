"""Dead letters replayed: a blob Event Grid wrote into the dead-letter container (the host's storage,
Azurite here) holding the captured RecordingFileStatusUpdated event is archived through the same intake
as a delivery and moved aside; a garbage blob, or one holding events of other types, is moved aside
too, never deleted, and reported; without the setting nothing is read."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import azure.durable_functions as df
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from devtools.devhost import DevHost
from devtools.devhost.invoke import on_worker_loop
from devtools.durable import DurableEngine
from shared.archive.dead_letter_replay import ReplayReport, replay_dead_letters
from shared.archive.records import archive_summary
from shared.archive.states import ArchiveStatus
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.archive import archived, record
from tests.support.dead_letters import DOCUMENTED, captured_event_for, dead_letter_blob, dead_letter_blob_name
from tests.support.functions import run_timer

REPLAY = "replay_dead_letters"


@pytest.fixture
def no_event(host: DevHost, emulator: AcsEmulator) -> None:
    """Event Grid could not deliver: the event ends in the dead-letter container, not at the app."""
    emulator.clear_event_webhooks()


@pytest.fixture
def dead_letters(
    app_settings: Settings, azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ContainerClient]:
    """The dead-letter container in the host's storage (AzureWebJobsStorage), as the template sets it."""
    name = f"deadletter-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    monkeypatch.setenv("EVENT_GRID_DEAD_LETTER_CONTAINER", name)
    reset_worker_caches()
    container = ContainerClient.from_connection_string(azurite.connection_string, name)
    container.create_container()
    yield container
    container.delete_container()


def replay(engine: DurableEngine) -> ReplayReport:
    client = df.DurableOrchestrationClient(engine.client_binding_json())
    return on_worker_loop(replay_dead_letters(current_settings(), client))


def blob(container: ContainerClient, name: str) -> bytes | None:
    try:
        return container.download_blob(name).readall()
    except ResourceNotFoundError:
        return None


def test_a_dead_letter_blob_holding_a_real_captured_event_is_archived_and_moved_aside(
    no_event: None,
    dead_letters: ContainerClient,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    recording_id = record(emulator, seconds=2)
    body = dead_letter_blob(captured_event_for(emulator.recording_files(recording_id)))
    name = dead_letter_blob_name()
    dead_letters.upload_blob(name, body)
    run_timer(REPLAY, durable_client=engine.client_binding_json())
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    summary = archive_summary(current_settings(), recording_id)
    assert summary is not None
    assert summary.status == ArchiveStatus.COMPLETED
    assert (blob(dead_letters, name), blob(dead_letters, f"replayed/{name}")) == (None, body)
    assert replay(engine) == ReplayReport()  # the next run reads nothing again


def test_a_garbage_blob_is_kept_and_reported(
    dead_letters: ContainerClient, host: DevHost, engine: DurableEngine, caplog: pytest.LogCaptureFixture
) -> None:
    name = dead_letter_blob_name()
    dead_letters.upload_blob(name, b"\x00\xff not an event {")
    with caplog.at_level(logging.ERROR, logger="shared.archive.dead_letter_replay"):
        report = replay(engine)
    assert (report.kept, report.replayed, report.retried) == ([name], [], [])
    assert (blob(dead_letters, name), blob(dead_letters, f"not-replayed/{name}")) == (
        None,
        b"\x00\xff not an event {",
    )
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert name in line
    assert "not UTF-8 JSON" in line
    assert replay(engine) == ReplayReport()  # kept where it was put, not read again, never deleted
    assert blob(dead_letters, f"not-replayed/{name}") == b"\x00\xff not an event {"


def test_events_of_other_types_in_a_blob_are_reported_and_kept_and_the_file_event_beside_them_archived(
    no_event: None,
    dead_letters: ContainerClient,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recording_id = record(emulator, seconds=2)
    blob_created = DOCUMENTED["event_grid_schema"]  # the docs' dead-lettered Storage event
    body = dead_letter_blob(blob_created, captured_event_for(emulator.recording_files(recording_id)))
    name = dead_letter_blob_name()
    dead_letters.upload_blob(name, body)
    with caplog.at_level(logging.ERROR, logger="shared.archive.dead_letter_replay"):
        report = replay(engine)
    assert (report.kept, report.events_replayed) == ([name], 1)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    assert blob(dead_letters, f"not-replayed/{name}") == body
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert name in line
    assert "Microsoft.Storage.BlobCreated" in line


def test_without_the_setting_nothing_is_read_and_nothing_breaks(
    app_settings: Settings, azurite: Azurite, host: DevHost, engine: DurableEngine
) -> None:
    assert app_settings.archive.dead_letter_container is None
    run_timer(REPLAY, durable_client=engine.client_binding_json())
    assert replay(engine) == ReplayReport(watched=False)
