"""Catalog queries over HTTP through the local host against Azurite: by time range, state, archive status
and call, newest first, in bounded pages with a continuation token, from the index rows the catalog writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devtools.devhost import DevHost
from shared.recording.callback_events import RecordingCallbackEvent
from shared.recording.catalog import Catalog, call_partition, recording_partition
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from tests.support.local_stack import hosted_app

T0 = datetime(2026, 10, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def host(app_settings: Settings) -> Iterator[DevHost]:
    with hosted_app() as running:
        yield running


@pytest.fixture
def entries(app_settings: Settings) -> Catalog:
    return catalog(app_settings)


def seen(entries: Catalog, recording_id: str, state: str, at: datetime, call: str = "call-1") -> None:
    """A state callback for `recording_id` at `at`, written by the catalog's own code."""
    entries.apply(
        RecordingCallbackEvent(
            event_id=f"{recording_id}-{state}-{at.isoformat()}",
            event_type="Microsoft.Communication.RecordingStateChanged",
            time=at,
            recording_id=recording_id,
            server_call_id=call,
            state=state,
            result=None,
        )
    )


def listing(host: DevHost, **params: str) -> requests.Response:
    return requests.get(
        f"{host.base_url}/api/recordings",
        params=params,
        headers={"x-functions-key": host.function_key},
        timeout=30,
    )


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [entry["recordingId"] for entry in response.json()["recordings"]]


def test_a_time_range_lists_only_its_recordings_newest_first_across_months(
    host: DevHost, entries: Catalog
) -> None:
    for day in (-3, 0, 1, 3, 40):  # T0 is 30 October: these span October and November
        seen(entries, f"rec-{day}", "active", T0 + timedelta(days=day))
    response = listing(
        host, **{"from": (T0 - timedelta(days=1)).isoformat(), "to": (T0 + timedelta(days=3)).isoformat()}
    )
    assert ids(response) == ["rec-1", "rec-0"]
    wide = listing(
        host, **{"from": (T0 - timedelta(days=5)).isoformat(), "to": (T0 + timedelta(days=5)).isoformat()}
    )
    assert ids(wide) == ["rec-3", "rec-1", "rec-0", "rec--3"]


def test_pages_are_bounded_and_the_token_walks_them_without_repeats(host: DevHost, entries: Catalog) -> None:
    for minute in range(5):
        seen(entries, f"page-{minute}", "active", T0 + timedelta(minutes=minute))
    params = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat(), "pageSize": "2"}
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        response = listing(host, **params, **({"continuationToken": token} if token else {}))
        pages.append(ids(response))
        token = response.json()["continuationToken"]
        if token is None:
            break
    assert pages == [["page-4", "page-3"], ["page-2", "page-1"], ["page-0"]]


def test_a_state_query_follows_the_recording_as_its_state_changes(host: DevHost, entries: Catalog) -> None:
    seen(entries, "moving", "active", T0)
    seen(entries, "staying", "active", T0 + timedelta(seconds=1))
    seen(entries, "moving", "inactive", T0 + timedelta(seconds=2))
    assert ids(listing(host, state="active")) == ["staying"]
    assert ids(listing(host, state="inactive")) == ["moving"]


def test_a_calls_recordings_are_listed_newest_first(host: DevHost, entries: Catalog) -> None:
    seen(entries, "older", "active", T0, call="call-A")
    seen(entries, "newer", "active", T0 + timedelta(minutes=5), call="call-A")
    seen(entries, "elsewhere", "active", T0, call="call-B")
    response = listing(host, serverCallId="call-A")
    assert ids(response) == ["newer", "older"]
    assert response.json()["serverCallId"] == "call-A"


def test_a_token_from_another_query_is_400(host: DevHost, entries: Catalog) -> None:
    for second in range(3):
        seen(entries, f"s-{second}", "active", T0 + timedelta(seconds=second))
    token = listing(host, state="active", pageSize="1").json()["continuationToken"]
    response = listing(host, state="inactive", continuationToken=token)
    assert (response.status_code, response.json()["error"]["target"]) == (400, "continuationToken")


def test_two_filters_at_once_are_400(host: DevHost) -> None:
    response = listing(host, state="active", serverCallId="call-1")
    assert (response.status_code, response.json()["error"]["target"]) == (400, "state")


def old_layout_recording(app_settings: Settings, recording_id: str, call: str, at: datetime) -> Any:
    """An entity and call index row as the first layout wrote them: no index rows of the new layout."""
    table = catalog(app_settings)._table
    table.create_entity(
        {
            "PartitionKey": recording_partition(recording_id),
            "RowKey": "recording",
            "recordingId": recording_id,
            "serverCallId": call,
            "state": "inactive",
            "createdAt": at.isoformat(),
            "stateChanges": "[]",
        }
    )
    from shared.recording.catalog_index import key_hash

    table.create_entity(
        {"PartitionKey": call_partition(call), "RowKey": key_hash(recording_id), "recordingId": recording_id}
    )
    return table


def test_a_call_listed_from_the_old_layout_is_migrated_as_it_is_read(
    host: DevHost, entries: Catalog, app_settings: Settings
) -> None:
    table = old_layout_recording(app_settings, "legacy", "call-old", T0)
    seen(entries, "current", "active", T0 + timedelta(minutes=1), call="call-old")
    assert ids(listing(host, serverCallId="call-old")) == ["current", "legacy"]
    assert (
        list(table.query_entities("PartitionKey eq @pk", parameters={"pk": call_partition("call-old")})) == []
    )
    assert ids(listing(host, serverCallId="call-old")) == ["current", "legacy"]


def test_old_layout_recordings_appear_in_time_queries_after_a_backfill(
    host: DevHost, entries: Catalog, app_settings: Settings
) -> None:
    old_layout_recording(app_settings, "legacy-time", "call-x", T0)
    window = {"from": (T0 - timedelta(hours=1)).isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
    assert ids(listing(host, **window)) == []
    assert entries.backfill() == 1
    assert ids(listing(host, **window)) == ["legacy-time"]
