"""An event never delivered, recovered (ARCHIVE_RECOVER_MISSING_EVENTS): the watch timer asks the ACS
emulator's (preview) result route for an Overdue recording's files, with the app's own credential,
and archives them as from the event; not before ACS says the session ended; never when recovery is off.
Against Azurite and the emulator over HTTPS, through the timer function as the host runs it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import azure.durable_functions as df
import pytest
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.devhost.invoke import on_worker_loop
from devtools.durable import DurableEngine
from shared.archive.recording_result import PREVIEW_API_VERSION
from shared.archive.records import archive_summary
from shared.archive.recovery import RecoveryReport
from shared.archive.states import ArchiveStatus
from shared.archive.watch import watch_and_recover, watch_archives
from shared.recording_ids import archive_instance_id
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.archive import archived, archived_as_served, record
from tests.support.functions import run_timer

WATCH = "watch_archives"
pytestmark = pytest.mark.usefixtures("no_event")  # every recording here misses its file event


@pytest.fixture
def no_event(host: DevHost, emulator: AcsEmulator) -> None:
    """The subscription is gone: ACS publishes, nothing arrives."""
    emulator.clear_event_webhooks()


@pytest.fixture
def switch(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], Settings]:
    """Overdue at once (no 30-minute wait), and recovery on or off."""

    def settings(recover: bool) -> Settings:
        monkeypatch.setenv("ARCHIVE_OVERDUE_AFTER_MINUTES", "0")
        monkeypatch.setenv("ARCHIVE_RECOVER_MISSING_EVENTS", "true" if recover else "false")
        reset_worker_caches()
        return current_settings()

    return settings


def result_requests(emulator: AcsEmulator, recording_id: str) -> list[str]:
    """The result requests ACS received for this recording, with their status."""
    path = f"/calling/recordings/{recording_id}/result"
    return [f"{r.target} {r.status}" for r in emulator.requests if r.target.partition("?")[0] == path]


def status_of(settings: Settings, recording_id: str) -> ArchiveStatus | None:
    summary = archive_summary(settings, recording_id)
    return summary.status if summary else None


def watch(engine: DurableEngine) -> None:
    run_timer(WATCH, durable_client=engine.client_binding_json())


@pytest.mark.usefixtures("result_settled")
def test_an_event_never_delivered_is_archived_from_the_result_route_with_recovery_on(
    switch: Callable[[bool], Settings],
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    settings = switch(True)
    recording_id = record(emulator, seconds=2)
    watch(engine)
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Completed", status
    assert status_of(settings, recording_id) == ArchiveStatus.COMPLETED
    assert result_requests(emulator, recording_id) == [
        f"/calling/recordings/{recording_id}/result?api-version={PREVIEW_API_VERSION} 200"
    ]
    manifest = archived_as_served(container, emulator, recording_id, status)
    assert manifest["eventId"].startswith("recordingResult:")


@pytest.mark.usefixtures("result_still_ongoing")
def test_session_still_ongoing_leaves_it_overdue_and_it_is_asked_again_on_the_next_run(
    switch: Callable[[bool], Settings],
    engine: DurableEngine,
    emulator: AcsEmulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = switch(True)
    recording_id = record(emulator, seconds=2)
    with caplog.at_level(logging.WARNING, logger="shared.archive.recovery"):
        watch(engine)
        watch(engine)
    assert status_of(settings, recording_id) == ArchiveStatus.OVERDUE
    assert engine.get_status(archive_instance_id(recording_id)) is None
    assert len(result_requests(emulator, recording_id)) == 2
    said = [
        r.getMessage()
        for r in caplog.records
        if r.name == "shared.archive.recovery" and recording_id in r.getMessage()
    ]
    assert len(said) == 2, said
    assert all("SessionStillOngoing" in line for line in said), said
    monkeypatch.setattr(emulator, "result_pending_seconds", 0.0)  # ACS has finished the session
    watch(engine)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"


@pytest.mark.usefixtures("result_settled")
def test_acs_is_asked_for_a_result_only_when_recovery_is_on(
    switch: Callable[[bool], Settings],
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    settings = switch(False)
    recording_id = record(emulator, seconds=2)
    watch(engine)
    watch(engine)
    assert status_of(settings, recording_id) == ArchiveStatus.OVERDUE
    assert result_requests(emulator, recording_id) == []
    assert engine.get_status(archive_instance_id(recording_id)) is None
    switch(True)
    watch(engine)
    assert len(result_requests(emulator, recording_id)) == 1
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"


@pytest.mark.usefixtures("result_settled")
def test_an_overdue_recording_past_acs_retention_is_no_longer_asked_about(
    switch: Callable[[bool], Settings],
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    recording_id = record(emulator, seconds=2)
    now = datetime.now(UTC)
    assert watch_archives(switch(False), now).overdue == [recording_id]
    settings = switch(True)
    client = df.DurableOrchestrationClient(engine.client_binding_json())
    past_retention = on_worker_loop(watch_and_recover(settings, client, now + timedelta(hours=49)))
    assert past_retention.recovery == RecoveryReport()
    assert result_requests(emulator, recording_id) == []
    within = on_worker_loop(watch_and_recover(settings, client, now + timedelta(hours=47)))
    assert within.recovery == RecoveryReport(recovered=[recording_id])
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
