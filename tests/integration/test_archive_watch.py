"""A stopped recording whose file event never comes is always visible: AwaitingFiles after the stop,
Overdue once the watch finds it late (logged once), archived as usual when the event comes late;
and a stop that did not go through our API is noticed. Against the emulator and Azurite."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.events import build_file_status_event
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.archive.records import expect_files
from shared.archive.watch import STOPS_CHECKED_PER_RUN, watch_archives
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.api import eventually, on_recording, start
from tests.support.archive import EVENT_FUNCTION, PARTICIPANTS, archived, record
from tests.support.functions import json_body


@pytest.fixture
def no_event(host: DevHost, emulator: AcsEmulator) -> None:
    """The subscription is gone: ACS publishes, nothing arrives."""
    emulator.clear_event_webhooks()


@pytest.fixture
def overdue_at_once(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ARCHIVE_OVERDUE_AFTER_MINUTES", "0")
    reset_worker_caches()
    return current_settings()


def api(host: DevHost, path: str, method: str = "GET") -> requests.Response:
    return requests.request(
        method, f"{host.base_url}/api/{path}", headers={"x-functions-key": host.function_key}, timeout=30
    )


def archive_of(host: DevHost, recording_id: str) -> dict[str, Any]:
    response = api(host, f"recordings/{recording_id}/archive")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(host: DevHost, status: str) -> list[str]:
    return [
        entry["recordingId"] for entry in api(host, f"recordings?archiveStatus={status}").json()["recordings"]
    ]


def deliver_late(host: DevHost, emulator: AcsEmulator, recording_id: str) -> None:
    event = build_file_status_event(emulator.recording_files(recording_id), emulator.event_topic)
    response = requests.post(
        host.event_grid_url(EVENT_FUNCTION),
        data=json.dumps([event]).encode(),
        headers={"aeg-event-type": "Notification"},
        timeout=30,
    )
    assert response.status_code < 300, response.text


def test_a_recording_stopped_through_the_api_awaits_its_files(
    no_event: None, host: DevHost, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    body = archive_of(host, recording_id)
    assert (body["status"], body["runtimeStatus"], body["manifest"]) == ("AwaitingFiles", None, None)
    assert recording_id in listed(host, "AwaitingFiles")


def test_a_missing_file_event_is_called_out_as_overdue_and_logged_once(
    no_event: None,
    overdue_at_once: Settings,
    host: DevHost,
    emulator: AcsEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recording_id = record(emulator, seconds=2)
    with caplog.at_level(logging.ERROR, logger="shared.archive.watch"):
        first = watch_archives(overdue_at_once, datetime.now(UTC) + timedelta(seconds=1))
        second = watch_archives(overdue_at_once, datetime.now(UTC) + timedelta(seconds=2))
    assert (first.overdue, second.overdue) == ([recording_id], [])
    assert archive_of(host, recording_id)["status"] == "Overdue"
    assert listed(host, "Overdue") == [recording_id]
    assert [r.getMessage() for r in caplog.records if recording_id in r.getMessage()] == [
        caplog.records[0].getMessage()
    ]
    assert "is Overdue" in caplog.records[0].getMessage()


def test_a_recording_is_not_overdue_before_its_threshold(
    no_event: None, app_settings: Settings, host: DevHost, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    assert watch_archives(current_settings(), datetime.now(UTC) + timedelta(minutes=29)).overdue == []
    assert archive_of(host, recording_id)["status"] == "AwaitingFiles"
    assert watch_archives(current_settings(), datetime.now(UTC) + timedelta(minutes=31)).overdue == [
        recording_id
    ]


def test_a_late_file_event_archives_an_overdue_recording_as_usual(
    no_event: None, overdue_at_once: Settings, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    watch_archives(overdue_at_once, datetime.now(UTC) + timedelta(seconds=1))
    deliver_late(host, emulator, recording_id)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    assert archive_of(host, recording_id)["status"] == "Completed"
    assert listed(host, "Overdue") == []


def test_an_event_on_time_never_lets_the_watch_call_the_recording_overdue(
    overdue_at_once: Settings, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    archived(engine, recording_id)
    assert watch_archives(overdue_at_once, datetime.now(UTC) + timedelta(hours=1)).overdue == []
    assert archive_of(host, recording_id)["status"] == "Completed"


def test_a_stop_that_did_not_go_through_our_api_is_noticed_and_awaits_its_files(
    no_event: None, host: DevHost, emulator: AcsEmulator
) -> None:
    call = emulator.create_call(participants=PARTICIPANTS)
    recording_id = json_body(start({"serverCallId": call.server_call_id}))["recordingId"]
    eventually(lambda: emulator.recording(recording_id).state == "active")
    emulator.stop_recording(recording_id, duration_s=2)  # the call ended; our stop route never ran
    eventually(
        lambda: (
            json_body(on_recording("get_recording", "GET", recording_id))["catalog"]["state"] == "inactive"
        )
    )
    report = watch_archives(current_settings(), datetime.now(UTC) + timedelta(minutes=5))
    assert report.stops_noticed == [recording_id]
    assert archive_of(host, recording_id)["status"] == "AwaitingFiles"


def test_a_paused_recording_is_not_taken_for_a_stopped_one(host: DevHost, emulator: AcsEmulator) -> None:
    call = emulator.create_call(participants=PARTICIPANTS)
    recording_id = json_body(start({"serverCallId": call.server_call_id}))["recordingId"]
    eventually(lambda: emulator.recording(recording_id).state == "active")
    assert on_recording("pause_recording", "POST", recording_id).status_code == 202
    eventually(
        lambda: (
            json_body(on_recording("get_recording", "GET", recording_id))["catalog"]["state"] == "inactive"
        )
    )
    assert watch_archives(current_settings(), datetime.now(UTC) + timedelta(minutes=5)).stops_noticed == []
    response = api(host, f"recordings/{recording_id}/archive")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ArchiveNotFound")


@pytest.mark.parametrize("path", ["archive", "archive/chunks/0", "content"])
def test_an_unknown_recording_is_recording_not_found_on_archive_routes_as_on_control_routes(
    host: DevHost, path: str
) -> None:
    # issue 24: the same unknown id was RecordingNotFound on control routes and NotFound on archive routes
    method = "DELETE" if path == "content" else "GET"
    response = api(host, f"recordings/eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiIwMDAwIn0/{path}", method)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "RecordingNotFound")


def test_a_crowd_of_paused_recordings_cannot_hide_a_stop_from_the_watch(
    no_event: None, host: DevHost, emulator: AcsEmulator
) -> None:
    def inactive(stop: bool) -> str:
        call = emulator.create_call(participants=PARTICIPANTS)
        recording_id = json_body(start({"serverCallId": call.server_call_id}))["recordingId"]
        eventually(lambda: emulator.recording(recording_id).state == "active")
        if stop:
            emulator.stop_recording(recording_id, duration_s=2)
        else:
            assert on_recording("pause_recording", "POST", recording_id, "/pause").status_code == 202
        entry = lambda: json_body(on_recording("get_recording", "GET", recording_id))["catalog"]  # noqa: E731
        eventually(lambda: entry()["state"] == "inactive")
        return recording_id

    stopped = inactive(stop=True)  # the oldest, so the crowd is asked about after it only once
    paused = [inactive(stop=False) for _ in range(STOPS_CHECKED_PER_RUN + 5)]
    later = datetime.now(UTC) + timedelta(minutes=5)
    noticed = (
        watch_archives(current_settings(), later).stops_noticed
        + watch_archives(current_settings(), later + timedelta(minutes=5)).stops_noticed
    )
    assert noticed == [stopped]
    assert all(api(host, f"recordings/{p}/archive").status_code == 404 for p in paused)


def stopped_without_our_route(host: DevHost, emulator: AcsEmulator) -> str:
    """A recording stopped at ACS (the call ended, another client stopped it): the catalog only heard
    `inactive` from its state callback."""
    call = emulator.create_call(participants=PARTICIPANTS)
    recording_id = json_body(start({"serverCallId": call.server_call_id}))["recordingId"]
    eventually(lambda: emulator.recording(recording_id).state == "active")
    emulator.stop_recording(recording_id, duration_s=2)
    entry = lambda: json_body(on_recording("get_recording", "GET", recording_id))["catalog"]  # noqa: E731
    eventually(lambda: entry()["state"] == "inactive")
    return recording_id


def test_a_stop_older_than_acs_retention_is_still_noticed_so_it_is_visible(
    no_event: None, host: DevHost, emulator: AcsEmulator
) -> None:
    """The watch may not have run for days (the app was down): an unseen stop older than ACS's 48 hours
    is not skipped, it becomes AwaitingFiles and then Overdue, so someone is told."""
    stopped = stopped_without_our_route(host, emulator)
    days_later = datetime.now(UTC) + timedelta(days=3)
    assert stopped in watch_archives(current_settings(), days_later).stops_noticed
    assert stopped in listed(host, "AwaitingFiles")


def test_a_recording_acs_refuses_to_describe_does_not_stop_the_watch(
    no_event: None, host: DevHost, emulator: AcsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """One candidate whose properties request fails is logged and put behind the others; the rest of
    the run (the other candidates, the attention metrics, recovery) goes on."""
    refused = stopped_without_our_route(host, emulator)
    noticed = stopped_without_our_route(host, emulator)
    emulator.add_fault("status", re.escape(refused), count=None, method="GET", status=400)
    try:
        with caplog.at_level(logging.WARNING, logger="shared.archive.watch"):
            report = watch_archives(current_settings(), datetime.now(UTC) + timedelta(minutes=5))
    finally:
        emulator.clear_faults()
    assert noticed in report.stops_noticed
    assert refused not in report.stops_noticed
    assert any(refused in record.getMessage() for record in caplog.records)


def test_a_stop_the_catalog_first_hears_of_is_listed_as_awaiting_its_files(
    app_settings: Settings, host: DevHost
) -> None:
    unknown = "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiJuZXZlci1zZWVuIn0"
    assert expect_files(app_settings, unknown, datetime.now(UTC))
    assert unknown in listed(host, "AwaitingFiles")
