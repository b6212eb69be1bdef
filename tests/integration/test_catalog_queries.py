"""Catalog queries over HTTP through the local host against Azurite: by time range, state, archive status
and call, newest first, in bounded pages with a continuation token, from the index rows the catalog writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.devhost import DevHost
from shared.recording.callback_events import RecordingCallbackEvent
from shared.recording.catalog import Catalog
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from tests.support.api import get_over_http
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
    return get_over_http(host, "recordings", **params)


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


def walk(host: DevHost, **params: str) -> list[list[str]]:
    """Every page of a listing, following its continuation token as a client would."""
    pages: list[list[str]] = []
    token: str | None = None
    while len(pages) < 20:
        response = listing(host, **params, **({"continuationToken": token} if token else {}))
        pages.append(ids(response))
        token = response.json()["continuationToken"]
        if token is None:
            return pages
    raise AssertionError(f"still paging after 20 pages: {pages}")


def test_the_default_listing_pages_through_the_window_of_its_first_page(
    host: DevHost, entries: Catalog
) -> None:
    # issue 24: `to` defaulted to "now", which moved between pages, so the token never matched
    now = datetime.now(UTC)
    for minute in (3, 2, 1):
        seen(entries, f"recent-{minute}", "active", now - timedelta(minutes=minute))
    first = listing(host, pageSize="1")
    assert ids(first) == ["recent-1"]
    seen(entries, "while-paging", "active", datetime.now(UTC))  # after the first page: not in its window
    token = first.json()["continuationToken"]
    second = listing(host, pageSize="1", continuationToken=token)
    assert ids(second) == ["recent-2"]
    assert second.json()["query"]["to"] == first.json()["query"]["to"]  # the window is the first page's
    assert walk(host, pageSize="1")[:1] == [["while-paging"]]  # a new listing starts a new window


def test_a_default_listing_given_only_from_pages_too(host: DevHost, entries: Catalog) -> None:
    now = datetime.now(UTC)
    for minute in (3, 2, 1):
        seen(entries, f"since-{minute}", "active", now - timedelta(minutes=minute))
    since = (now - timedelta(hours=1)).isoformat()
    assert walk(host, pageSize="2", **{"from": since}) == [["since-1", "since-2"], ["since-3"]]


def refused(response: requests.Response, target: str) -> str:
    """The 400's message, after checking it names `target`."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["target"] == target, error
    return str(error["message"])


@pytest.mark.parametrize(
    ("params", "accepted"),
    [
        ({"state": "bogus"}, ["active", "inactive", "startFailed"]),
        ({"state": "Active"}, ["active", "inactive", "startFailed"]),
        ({"archiveStatus": "completed"}, ["AwaitingFiles", "Overdue", "Retrying", "Completed", "Lost"]),
        ({"archiveStatus": "Failed"}, ["AwaitingFiles", "Overdue", "Retrying", "Completed", "Lost"]),
    ],
)
def test_a_filter_value_that_cannot_match_is_400_listing_the_accepted_values(
    host: DevHost, params: dict[str, str], accepted: list[str]
) -> None:
    # issue 24: `?state=bogus` and `?archiveStatus=completed` answered 200 with an empty list
    (name,) = params
    message = refused(listing(host, **params), name)
    assert all(value in message for value in accepted), message


@pytest.mark.parametrize("unencoded", ["aGk+dGhlcmU=", "aGVsbG8+", "+aGk"])
def test_a_server_call_id_with_a_space_is_400_saying_to_url_encode_it(host: DevHost, unencoded: str) -> None:
    # an unencoded `+` arrives as a space: `?serverCallId=aGk+dGhlcmU=` reads "aGk dGhlcmU=", and a
    # trailing one must not be stripped into another id
    response = requests.get(
        f"{host.base_url}/api/recordings?serverCallId={unencoded}",
        headers={"x-functions-key": host.function_key},
        timeout=30,
    )
    message = refused(response, "serverCallId")
    assert "%2B" in message, message


def test_a_server_call_id_in_standard_base64_is_found_when_url_encoded(
    host: DevHost, entries: Catalog
) -> None:
    call = "aHR0cHM6Ly9hcGkuZXhhbXBsZS9jb252L2E+Yj9jPWQ/ZT1m=="  # `+`, `/` and `=`, as real ids have
    seen(entries, "encoded", "active", T0, call=call)
    assert ids(listing(host, serverCallId=call)) == ["encoded"]  # requests encodes `+` as %2B


@pytest.mark.parametrize("size", ["²", "¹", "①", "٣", "9" * 5000, "-1", "1e2", "0x10"])
def test_a_page_size_that_is_no_plain_number_is_400(host: DevHost, size: str) -> None:
    # issue 24: `²` passed str.isdigit() and then int() raised: a 500
    refused(listing(host, pageSize=size), "pageSize")


@pytest.mark.parametrize(
    ("params", "target"),
    [
        ({"to": "0001-01-01T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00Z", "to": "0001-02-01T00:00:00Z"}, "from"),
        ({"archiveStatus": "Completed", "to": "0001-01-01T00:30:00+01:00"}, "to"),
        ({"state": "active", "from": "9999-12-31T23:59:59-14:00"}, "from"),
        ({"state": "active", "from": "1969-12-31T23:59:59Z"}, "from"),
        ({"from": "1969-12-31T23:59:59Z", "to": "1970-01-02T00:00:00Z"}, "from"),
        ({"state": "active", "to": "2286-11-20T17:46:40Z"}, "to"),
    ],
)
def test_a_time_outside_what_the_catalog_can_hold_is_400_naming_it(
    host: DevHost, params: dict[str, str], target: str
) -> None:
    # issue 24: year 1 overflowed (a 500), and 1969 made a 14-digit row-key bound that compares as
    # text below every 13-digit key (an empty page, silently)
    message = refused(listing(host, **params), target)
    assert "1970-01-01T00:00:00Z" in message, message


def test_a_range_from_the_first_instant_the_catalog_holds_finds_its_recordings(
    host: DevHost, entries: Catalog
) -> None:
    seen(entries, "epoch-listed", "active", T0)
    assert ids(listing(host, state="active", **{"from": "1970-01-01T00:00:00Z"})) == ["epoch-listed"]
    assert ids(listing(host, state="active", to="1970-01-01T00:00:00Z")) == []  # found by tests/hostile
    window = {"from": "1970-01-01T00:00:00Z", "to": "1970-01-31T00:00:00Z"}
    assert ids(listing(host, **window)) == []
