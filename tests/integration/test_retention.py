"""Retention against Azurite: an archived recording past ARCHIVE_RETENTION_DAYS loses its blobs, its catalog
entry becomes Expired (and is listed so), its links answer 410 and it is not archived again; a dry run
changes nothing; a second run finds nothing to do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest
import requests
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.devhost.invoke import on_worker_loop
from devtools.durable import DurableEngine
from shared.archive.model import ArchiveSummary
from shared.archive.records import (
    archive_summary,
    claim_archive,
    record_manifest,
    stored_archive,
    stored_job,
    summary_fields,
)
from shared.archive.retention import apply_retention, due_archives, expire
from shared.archive.states import ArchiveStatus
from shared.recording.catalog_table import catalog
from shared.recording_ids import recording_key
from shared.settings import Settings, current_settings
from shared.worker_cache import reset_worker_caches
from tests.support.api import eventually
from tests.support.archive import archived, record
from tests.support.functions import run_timer

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


@pytest.fixture
def retain(engine: DurableEngine) -> Callable[..., dict[str, Any]]:
    """Run retention as its timer does: with a Durable client on the worker's loop."""

    def run(settings: Settings, now: datetime, **options: Any) -> dict[str, Any]:
        client = df.DurableOrchestrationClient(engine.client_binding_json())
        return on_worker_loop(apply_retention(settings, client, now, **options))

    return run


def api(host: DevHost, method: str, path: str) -> requests.Response:
    return requests.request(
        method, f"{host.base_url}/api/{path}", headers={"x-functions-key": host.function_key}, timeout=30
    )


def test_an_archive_past_retention_is_deleted_and_its_entry_marked_expired(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    host: DevHost,
    container: ContainerClient,
) -> None:
    assert list(container.list_blobs())
    summary = retain(retention_30_days, LATER)
    assert [r["recordingId"] for r in summary["recordings"]] == [recording_id]
    assert list(container.list_blobs()) == []
    entry = api(host, "GET", f"recordings/{recording_id}").json()["catalog"]
    assert entry["archive"]["status"] == "Expired"
    assert [
        r["recordingId"] for r in api(host, "GET", "recordings?archiveStatus=Expired").json()["recordings"]
    ] == [recording_id]
    assert api(host, "GET", "recordings?archiveStatus=Completed").json()["recordings"] == []


def test_an_expired_archive_gives_410_for_links_and_409_for_a_rerun(
    retention_30_days: Settings, retain: Callable[..., dict[str, Any]], recording_id: str, host: DevHost
) -> None:
    retain(retention_30_days, LATER)
    link = api(host, "GET", f"recordings/{recording_id}/archive/chunks/0")
    assert (link.status_code, link.json()["error"]["code"]) == (410, "ArchiveExpired")
    rerun = api(host, "POST", f"recordings/{recording_id}/archive")
    assert (rerun.status_code, rerun.json()["error"]["code"]) == (409, "ArchiveExpired")


def test_an_archive_within_retention_is_kept(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    container: ContainerClient,
) -> None:
    before = sorted(blob.name for blob in container.list_blobs())
    assert retain(retention_30_days, LATER - timedelta(days=2))["recordings"] == []
    assert sorted(blob.name for blob in container.list_blobs()) == before


def test_a_dry_run_reports_what_it_would_delete_and_changes_nothing(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    host: DevHost,
    container: ContainerClient,
) -> None:
    before = sorted(blob.name for blob in container.list_blobs())
    summary = retain(retention_30_days, LATER, dry_run=True)
    assert summary["recordings"] == [{"recordingId": recording_id, "blobs": len(before)}]
    assert sorted(blob.name for blob in container.list_blobs()) == before
    assert (
        api(host, "GET", f"recordings/{recording_id}").json()["catalog"]["archive"]["status"] == "Completed"
    )


def test_a_second_run_finds_nothing_left_to_do(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    container: ContainerClient,
) -> None:
    retain(retention_30_days, LATER)
    assert retain(retention_30_days, LATER)["recordings"] == []


def test_a_run_after_the_lifecycle_rule_deleted_the_blobs_still_marks_the_entry(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    host: DevHost,
    container: ContainerClient,
) -> None:
    for blob in list(container.list_blobs()):
        container.delete_blob(blob.name)  # as the storage lifecycle rule does, on its own schedule
    assert retain(retention_30_days, LATER)["recordings"] == [{"recordingId": recording_id, "blobs": 0}]
    assert api(host, "GET", f"recordings/{recording_id}").json()["catalog"]["archive"]["status"] == "Expired"


def test_the_timer_function_keeps_everything_while_retention_is_off(
    app_settings: Settings, recording_id: str, container: ContainerClient, engine: DurableEngine
) -> None:
    before = sorted(blob.name for blob in container.list_blobs())
    run_timer("apply_retention", durable_client=engine.client_binding_json())
    assert sorted(blob.name for blob in container.list_blobs()) == before


def test_retention_never_deletes_an_archive_whose_run_is_in_flight(
    retention_30_days: Settings,
    retain: Callable[..., dict[str, Any]],
    recording_id: str,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
    container: ContainerClient,
) -> None:
    """The probe of the issue: a re-run of an old archive was running when retention came."""
    summary = archive_summary(retention_30_days, recording_id)
    assert summary is not None
    emulator.add_fault("latency", r"/content/audio", count=None, seconds=2)
    instance = f"archive-{recording_key(recording_id)}"
    manifest = stored_archive(retention_30_days, recording_id).manifest
    assert manifest is not None
    container.delete_blob(manifest.chunks[0].blob_name)  # the re-run has a chunk to archive again
    mark_as(retention_30_days, recording_id, summary, ArchiveStatus.LOST)  # so that a re-run may start
    assert api(host, "POST", f"recordings/{recording_id}/archive").status_code == 202
    eventually(lambda: (engine.get_status(instance) or {}).get("runtimeStatus") == "Running", 10)
    claimed = archive_summary(retention_30_days, recording_id)
    assert claimed is not None
    assert claimed.status == ArchiveStatus.ARCHIVING  # claimed: retention does not even see it as due
    mark_as(retention_30_days, recording_id, summary, ArchiveStatus.LOST)  # ...even if the catalog lagged
    report = retain(retention_30_days, LATER)
    assert report["recordings"] == []
    assert [s["reason"] for s in report["skipped"]] == ["running"]
    status = engine.wait_for(instance, timeout=30)
    assert status["runtimeStatus"] == "Completed"
    assert api(host, "GET", f"recordings/{recording_id}/archive/chunks/0").status_code == 200  # downloads


def test_an_archive_claimed_by_a_rerun_after_retention_read_it_is_not_deleted(
    retention_30_days: Settings, recording_id: str, container: ContainerClient
) -> None:
    """Retention read the archive, then a re-run claimed it before retention's own claim: the
    conditional claim fails, nothing is deleted."""
    (due,) = due_archives(retention_30_days, LATER - timedelta(days=30))
    job = stored_job(retention_30_days, recording_id)
    assert job is not None
    mark_as(retention_30_days, recording_id, due.archive, ArchiveStatus.LOST)
    assert claim_archive(retention_30_days, job, datetime.now(UTC))  # the re-run's claim
    before = sorted(blob.name for blob in container.list_blobs())
    lost_view = replace(due.archive, status=ArchiveStatus.LOST)
    assert expire(retention_30_days, replace(due, archive=lost_view), LATER) is None
    assert sorted(blob.name for blob in container.list_blobs()) == before


def test_an_expired_archive_is_never_revived_by_a_late_manifest(
    retention_30_days: Settings, retain: Callable[..., dict[str, Any]], recording_id: str, host: DevHost
) -> None:
    completed = stored_archive(retention_30_days, recording_id).manifest
    assert completed is not None
    retain(retention_30_days, LATER)
    assert not record_manifest(retention_30_days, completed)  # a late run's "Completed"
    assert api(host, "GET", f"recordings/{recording_id}").json()["catalog"]["archive"]["status"] == "Expired"
    assert api(host, "GET", f"recordings/{recording_id}/archive/chunks/0").status_code == 410
    deleted = api(host, "DELETE", f"recordings/{recording_id}/content")
    assert (deleted.status_code, deleted.json()["error"]["code"]) == (410, "ArchiveExpired")


def mark_as(settings: Settings, recording_id: str, current: ArchiveSummary, status: ArchiveStatus) -> None:
    """Move the catalog's archive status by hand (a test's shortcut through the lifecycle)."""
    catalog(settings).update(recording_id, lambda _: summary_fields(replace(current, status=status)))
