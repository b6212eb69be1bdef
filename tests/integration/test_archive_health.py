"""`GET /api/archive-health` over HTTP through the local host, against Azurite (and, for a real archive,
the emulator and the Durable engine): the counts are what the catalog holds, the oldest Overdue,
Retrying and Lost recordings are listed oldest first with their ids, an index row whose recording
moved on is not listed, and a bad window is a 400 naming `hours`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.archive.model import ArchiveSummary
from shared.archive.records import summary_fields
from shared.archive.states import ArchiveStatus
from shared.clients import table_client
from shared.recording.catalog import Catalog, index_rows
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from tests.integration.test_catalog_queries import seen
from tests.support.api import get_over_http
from tests.support.archive import archived, record

S = ArchiveStatus
NOW = datetime.now(UTC)


@pytest.fixture
def entries(app_settings: Settings) -> Catalog:
    return catalog(app_settings)


def stopped(entries: Catalog, recording_id: str, created: datetime) -> None:
    """A recording that ran for a minute from `created`, written by the catalog's own code."""
    seen(entries, recording_id, "active", created, call=f"call-{recording_id}")
    seen(entries, recording_id, "inactive", created + timedelta(minutes=1), call=f"call-{recording_id}")


def filed(entries: Catalog, recording_id: str, summary: ArchiveSummary) -> None:
    """The archive wing's fields, as shared.archive.records writes them."""
    assert entries.update(recording_id, lambda _: summary_fields(summary), create=False)


def seeded(
    entries: Catalog,
    recording_id: str,
    created: datetime,
    status: ArchiveStatus,
    since: datetime,
    **more: Any,
) -> None:
    stopped(entries, recording_id, created)
    filed(entries, recording_id, ArchiveSummary(status, since=since.isoformat(), **more))


def health(host: DevHost, **params: str) -> requests.Response:
    return get_over_http(host, "archive-health", **params)


def answer(host: DevHost, **params: str) -> dict[str, Any]:
    response = health(host, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def oldest(body: dict[str, Any], status: ArchiveStatus) -> list[str]:
    return [entry["recordingId"] for entry in body["attention"][status.value]["oldest"]]


def test_counts_by_archive_status_are_those_of_the_recordings_created_in_the_window(
    host: DevHost, entries: Catalog
) -> None:
    hour = timedelta(hours=1)
    for index, status in enumerate((S.COMPLETED, S.COMPLETED, S.COMPLETED, S.AWAITING_FILES, S.LOST)):
        seeded(entries, f"recent-{index}", NOW - (index + 1) * hour, status, NOW - index * hour / 2)
    seeded(entries, "yesterday", NOW - 30 * hour, S.COMPLETED, NOW - 29 * hour)
    seeded(entries, "old-lost", NOW - 40 * hour, S.LOST, NOW - 20 * hour)
    stopped(entries, "no-status-yet", NOW - 2 * hour)

    body = answer(host)
    zero = {status.value: 0 for status in S}
    assert body["counts"] == zero | {"Completed": 3, "AwaitingFiles": 1, "Lost": 1}
    assert body["recordings"] == 6
    assert body["window"]["hours"] == 24
    assert body["attention"]["Lost"]["total"] == 2  # whenever created

    wider = answer(host, hours="48")
    assert wider["counts"] == zero | {"Completed": 4, "AwaitingFiles": 1, "Lost": 2}
    assert wider["recordings"] == 8


def test_the_oldest_overdue_retrying_and_lost_are_listed_oldest_first_with_their_ids(
    host: DevHost, entries: Catalog
) -> None:
    created = NOW - timedelta(hours=60)  # outside the window: listed all the same
    for name, minutes in (("overdue-b", 90), ("overdue-a", 300), ("overdue-c", 45)):
        seeded(entries, name, created, S.OVERDUE, NOW - timedelta(minutes=minutes))
    seeded(
        entries,
        "retrying",
        created,
        S.RETRYING,
        NOW - timedelta(minutes=20),
        attempt=4,
        next_attempt_at=(NOW + timedelta(minutes=5)).isoformat(),
        last_error="DownloadRefusedError: 503 from us-storage.asm.skype.com",
    )
    seeded(entries, "lost", created, S.LOST, NOW - timedelta(hours=2), attempt=9, lost_chunks=2)
    seeded(entries, "fine", created, S.COMPLETED, NOW - timedelta(hours=50))

    body = answer(host)
    assert oldest(body, S.OVERDUE) == ["overdue-a", "overdue-b", "overdue-c"]
    assert [body["attention"][s.value]["total"] for s in (S.OVERDUE, S.RETRYING, S.LOST)] == [3, 1, 1]
    first = body["attention"]["Overdue"]["oldest"][0]
    assert (first["since"], first["createdAt"], first["serverCallId"]) == (
        (NOW - timedelta(minutes=300)).isoformat(),
        created.isoformat(),
        "call-overdue-a",
    )
    (retrying,) = body["attention"]["Retrying"]["oldest"]
    assert retrying == {
        "recordingId": "retrying",
        "serverCallId": "call-retrying",
        "createdAt": created.isoformat(),
        "since": (NOW - timedelta(minutes=20)).isoformat(),
        "attempt": 4,
        "nextAttemptAt": (NOW + timedelta(minutes=5)).isoformat(),
        "lastError": "DownloadRefusedError: 503 from us-storage.asm.skype.com",
        "lostChunks": 0,
    }
    (lost,) = body["attention"]["Lost"]["oldest"]
    assert (lost["recordingId"], lost["attempt"], lost["lostChunks"]) == ("lost", 9, 2)
    assert body["counts"] == {status.value: 0 for status in S}  # none was created in the last 24 hours


def test_an_index_row_whose_recording_moved_on_is_not_listed(
    host: DevHost, entries: Catalog, app_settings: Settings
) -> None:
    seeded(entries, "moved-on", NOW - timedelta(hours=9), S.OVERDUE, NOW - timedelta(hours=8))
    seeded(entries, "still-overdue", NOW - timedelta(hours=3), S.OVERDUE, NOW - timedelta(hours=2))
    assert oldest(answer(host), S.OVERDUE) == ["moved-on", "still-overdue"]
    before = entries.read("moved-on")
    assert before is not None
    filed(entries, "moved-on", ArchiveSummary(S.ARCHIVING, since=NOW.isoformat()))
    # A writer between its two writes: the entity moved on, its old index rows are still there.
    table = table_client(app_settings.storage, app_settings.catalog_table)
    for row in index_rows(before):
        table.upsert_entity(row)

    body = answer(host)
    assert oldest(body, S.OVERDUE) == ["still-overdue"]
    assert body["counts"]["Archiving"] == 1


def test_a_recording_archived_through_the_pipeline_is_counted_completed(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    during = answer(host)
    assert (during["recordings"], sum(during["counts"].values())) == (1, 1)  # AwaitingFiles, or on its way
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    after = answer(host)
    assert (after["recordings"], after["counts"]["Completed"]) == (1, 1)
    assert all(after["attention"][s]["total"] == 0 for s in ("Overdue", "Retrying", "Lost"))


@pytest.mark.parametrize(
    "hours", ["0", "169", "-1", "1.5", "abc", "²", "①", "٣", "\uff12\uff14", "9" * 5000, "0024"]
)
def test_a_window_that_is_not_1_to_168_hours_is_a_400_naming_hours(host: DevHost, hours: str) -> None:
    response = health(host, hours=hours)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["target"] == "hours"
    assert response.headers["x-ms-error-code"] == "InvalidRequest"


def test_an_empty_window_is_dropped_by_the_host_and_means_the_default(host: DevHost) -> None:
    """The Functions host drops a parameter given empty before the app runs
    (docs/api.md, Query parameters)."""
    response = health(host, hours="")
    assert (response.status_code, response.json()["window"]["hours"]) == (200, 24)
