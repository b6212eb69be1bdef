"""The catalog's index layout and query parameters: pure functions, no storage."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import QueryError
from shared.recording.catalog_index import CatalogQuery, index_keys, parse_query, row_key

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def entity(**fields: object) -> dict[str, object]:
    return {"recordingId": "rec/1+", "createdAt": NOW.isoformat(), **fields}


def test_newer_recordings_sort_first_by_row_key() -> None:
    assert row_key(NOW, "a") < row_key(NOW - timedelta(milliseconds=1), "a")


def test_two_recordings_of_the_same_millisecond_get_different_row_keys() -> None:
    assert row_key(NOW, "a") != row_key(NOW, "b")


def test_a_recording_is_indexed_by_month_state_archive_status_and_call() -> None:
    keys = index_keys(entity(state="inactive", serverCallId="call-1", archiveStatus="Completed"))
    partitions = {partition for partition, _ in keys}
    assert {"t-202611", "s-inactive", "a-Completed"} <= partitions
    assert len(partitions) == 4
    assert len({row for _, row in keys}) == 1


def test_an_entity_without_a_time_is_not_indexed() -> None:
    assert index_keys({"recordingId": "r"}) == set()


def test_index_partitions_carry_no_character_table_storage_forbids() -> None:
    keys = index_keys(entity(serverCallId="a/b\\c#d?e", state="active"))
    assert not any(set("/\\#?") & set(partition + row) for partition, row in keys)


def test_a_time_query_reads_the_months_it_spans_newest_first() -> None:
    query = parse_query({"from": "2026-09-15T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, now=NOW)
    assert query.partitions() == ["t-202610", "t-202609"]


def test_a_time_query_without_bounds_covers_the_last_30_days() -> None:
    query = parse_query({}, now=NOW)
    assert (query.start, query.end) == (NOW - timedelta(days=30), NOW)


def test_the_row_range_holds_from_inclusive_and_to_exclusive() -> None:
    query = parse_query({"from": "2026-11-01T00:00:00Z", "to": "2026-11-02T00:00:00Z"}, now=NOW)
    low, high = query.row_range()
    assert low is not None
    assert high is not None
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    assert low <= row_key(start, "x") < high
    assert low <= row_key(end - timedelta(milliseconds=1), "x") < high
    assert not low <= row_key(end, "x") < high
    assert not low <= row_key(start - timedelta(milliseconds=1), "x") < high


@pytest.mark.parametrize(
    ("params", "target"),
    [
        ({"serverCallId": "c", "state": "active"}, "state"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-01T00:00:00"}, "from"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageSize": "101"}, "pageSize"),
        ({"state": "in active"}, "state"),
    ],
)
def test_malformed_queries_name_the_parameter(params: dict[str, str], target: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(params, now=NOW)
    assert caught.value.target == target


def test_a_continuation_token_resumes_only_the_query_that_issued_it() -> None:
    query = CatalogQuery("state", "active", None, None, 10)
    token = query.token("s-active", row_key(NOW, "r"))
    assert query.resume(token) == ("s-active", row_key(NOW, "r"))
    with pytest.raises(QueryError):
        CatalogQuery("state", "inactive", None, None, 10).resume(token)
    with pytest.raises(QueryError):
        query.resume("not-a-token")


@pytest.mark.parametrize("name", ["from", "to", "serverCallId", "state", "archiveStatus", "pageSize"])
def test_a_query_parameter_given_empty_is_refused_not_ignored(name: str) -> None:
    # found by the hostile suite: `?to=` was read as "no upper bound" and answered 200
    with pytest.raises(QueryError, match="must not be empty") as refused:
        parse_query({name: " "}, now=NOW)
    assert refused.value.target == name


def test_an_archive_status_filter_accepts_only_the_statuses_its_caller_names() -> None:
    accepted = ("Completed", "Lost")
    assert parse_query({"archiveStatus": "Lost"}, now=NOW, archive_statuses=accepted).value == "Lost"
    with pytest.raises(QueryError) as refused:
        parse_query({"archiveStatus": "Failed"}, now=NOW, archive_statuses=accepted)
    assert refused.value.target == "archiveStatus"


def test_a_default_time_query_keeps_the_window_of_its_first_page() -> None:
    first = parse_query({"pageSize": "1"}, now=NOW)
    token = first.token(first.partitions()[0], row_key(NOW - timedelta(hours=1), "r"))
    later = parse_query({"pageSize": "1", "continuationToken": token}, now=NOW + timedelta(minutes=5))
    assert (later.start, later.end) == (first.start, first.end)
    assert later.resume(token) == (first.partitions()[0], row_key(NOW - timedelta(hours=1), "r"))


def test_a_token_whose_window_is_not_a_window_is_malformed() -> None:
    raw = base64.urlsafe_b64encode(json.dumps({"q": "x", "p": "t-202611", "r": "1", "w": [1, 2]}).encode())
    with pytest.raises(QueryError, match="malformed") as refused:
        parse_query({"continuationToken": raw.decode()}, now=NOW)
    assert refused.value.target == "continuationToken"


def test_bounds_at_the_first_instant_a_row_key_holds_stay_13_digit_keys() -> None:
    # 10^13 - 1 - 0 + 1 has 14 digits, which compares as text below every 13-digit key
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    since = parse_query({"state": "active", "from": "1970-01-01T00:00:00Z"}, now=NOW).row_range()
    assert since[0] is None
    assert since[1] is not None
    assert row_key(epoch, "x") < since[1]
    assert row_key(NOW, "x") < since[1]
    until = parse_query({"state": "active", "to": "1970-01-01T00:00:00Z"}, now=NOW).row_range()
    assert until[0] is not None
    assert not until[0] <= row_key(epoch, "x")
    assert not until[0] <= row_key(NOW, "x")


def test_a_default_window_never_reaches_before_the_first_instant() -> None:
    query = parse_query({"to": "1970-01-05T00:00:00Z"}, now=NOW)
    assert query.start == datetime(1970, 1, 1, tzinfo=UTC)
