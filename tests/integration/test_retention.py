"""Retention against Azurite: an archived recording past ARCHIVE_RETENTION_DAYS loses its blobs, its catalog
entry becomes Expired (and is listed so), its links answer 410 and it is not archived again; a dry run
changes nothing; a second run finds nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.archive.retention import apply_retention
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.archive import archived, record
from tests.support.functions import function_named

LATER = datetime.now(UTC) + timedelta(days=31)


@pytest.fixture
def retention_30_days(app_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "30")
    reset_worker_caches()
    return current_settings()


@pytest.fixture
def recording_id(host: DevHost, engine: DurableEngine, emulator: AcsEmulator) -> str:
    recording = record(emulator, seconds=2)
    assert archived(engine, recording)["runtimeStatus"] == "Completed"
    return recording


def api(host: DevHost, method: str, path: str) -> requests.Response:
    return requests.request(
        method, f"{host.base_url}/api/{path}", headers={"x-functions-key": host.function_key}, timeout=30
    )


def test_an_archive_past_retention_is_deleted_and_its_entry_marked_expired(
    retention_30_days: Settings, recording_id: str, host: DevHost, container: ContainerClient
) -> None:
    assert list(container.list_blobs())
    summary = apply_retention(retention_30_days, LATER)
    assert [r["recordingId"] for r in summary["recordings"]] == [recording_id]
    assert list(container.list_blobs()) == []
    entry = api(host, "GET", f"recordings/{recording_id}").json()["catalog"]
    assert entry["archive"]["status"] == "Expired"
    assert [
        r["recordingId"] for r in api(host, "GET", "recordings?archiveStatus=Expired").json()["recordings"]
    ] == [recording_id]
    assert api(host, "GET", "recordings?archiveStatus=Completed").json()["recordings"] == []


def test_an_expired_archive_gives_410_for_links_and_409_for_a_rerun(
    retention_30_days: Settings, recording_id: str, host: DevHost
) -> None:
    apply_retention(retention_30_days, LATER)
    link = api(host, "GET", f"recordings/{recording_id}/archive/chunks/0")
    assert (link.status_code, link.json()["error"]["code"]) == (410, "ArchiveExpired")
    rerun = api(host, "POST", f"recordings/{recording_id}/archive")
    assert (rerun.status_code, rerun.json()["error"]["code"]) == (409, "ArchiveExpired")


def test_an_archive_within_retention_is_kept(
    retention_30_days: Settings, recording_id: str, container: ContainerClient
) -> None:
    before = sorted(blob.name for blob in container.list_blobs())
    assert apply_retention(retention_30_days, LATER - timedelta(days=2))["recordings"] == []
    assert sorted(blob.name for blob in container.list_blobs()) == before


def test_a_dry_run_reports_what_it_would_delete_and_changes_nothing(
    retention_30_days: Settings, recording_id: str, host: DevHost, container: ContainerClient
) -> None:
    before = sorted(blob.name for blob in container.list_blobs())
    summary = apply_retention(retention_30_days, LATER, dry_run=True)
    assert summary["recordings"] == [{"recordingId": recording_id, "blobs": len(before)}]
    assert sorted(blob.name for blob in container.list_blobs()) == before
    assert (
        api(host, "GET", f"recordings/{recording_id}").json()["catalog"]["archive"]["status"] == "Completed"
    )


def test_a_second_run_finds_nothing_left_to_do(
    retention_30_days: Settings, recording_id: str, container: ContainerClient
) -> None:
    apply_retention(retention_30_days, LATER)
    assert apply_retention(retention_30_days, LATER)["recordings"] == []


def test_a_run_after_the_lifecycle_rule_deleted_the_blobs_still_marks_the_entry(
    retention_30_days: Settings, recording_id: str, host: DevHost, container: ContainerClient
) -> None:
    for blob in list(container.list_blobs()):
        container.delete_blob(blob.name)  # as the storage lifecycle rule does, on its own schedule
    assert apply_retention(retention_30_days, LATER)["recordings"] == [
        {"recordingId": recording_id, "blobs": 0}
    ]
    assert api(host, "GET", f"recordings/{recording_id}").json()["catalog"]["archive"]["status"] == "Expired"


def test_the_timer_function_keeps_everything_while_retention_is_off(
    app_settings: Settings, recording_id: str, container: ContainerClient
) -> None:
    from azure.functions.timer import TimerRequest

    before = sorted(blob.name for blob in container.list_blobs())
    function_named("apply_retention").get_user_function()(timer=TimerRequest(past_due=False))
    assert sorted(blob.name for blob in container.list_blobs()) == before
