"""Numbers and times a client can type, sent over HTTP to the list, health and chunk-link routes: each
is read exactly as documented or refused with a 400 naming the parameter, and a listing's answer is right,
checked against a recording whose creation time the test knows.

The strategies (parameter_strategies.py) make what schemathesis never does: Unicode digits, numbers of
thousands of digits, and times at the edges of the calendar; each of them reached a 500 or an empty page
before issue 24.
"""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.acs_emulator import AcsEmulator
from tests.hostile.answers import Answer, assert_documented
from tests.hostile.capture import Traffic
from tests.hostile.conftest import examples
from tests.hostile.parameter_strategies import (
    edge_times,
    odd_numbers,
    plain_number,
    utc_instant,
)
from tests.hostile.test_openapi_fuzz import FUZZ_SETTINGS, PARTICIPANT
from tests.support.local_stack import LocalStack

EARLIEST = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
LATEST = datetime.fromisoformat("2286-11-20T17:46:39.999+00:00")  # the last instant a row key holds


def error_target(answer: Answer) -> str | None:
    """The `target` of an error answer; None for any other answer."""
    try:
        error = json.loads(answer.body).get("error")
    except (ValueError, AttributeError):
        return None
    return str(error.get("target")) if isinstance(error, dict) else None


class Known:
    """One recording on a call of its own: its id and the time the catalog gave it."""

    def __init__(self, emulator: AcsEmulator, api: str, traffic: Traffic, key: str) -> None:
        self.call = emulator.create_call(participants=[PARTICIPANT]).server_call_id
        headers = {"x-functions-key": key}
        started = traffic.session.post(
            f"{api}/recordings", json={"serverCallId": self.call}, headers=headers, timeout=30
        )
        assert started.status_code == 201, Answer.of(started)
        self.recording_id: str = started.json()["recordingId"]
        entry = traffic.session.get(f"{api}/recordings/{self.recording_id}", headers=headers, timeout=30)
        created = entry.json()["catalog"]["createdAt"]
        self.created = datetime.fromisoformat(created)


@pytest.fixture(scope="module")
def known(
    hostile_stack: LocalStack, emulator: AcsEmulator, api: str, traffic: Traffic, function_key: str
) -> Known:
    return Known(emulator, api, traffic, function_key)


def read_or_refused(
    traffic: Traffic, url: str, key: str, name: str, value: str, expected: int | None, shown: list[str]
) -> None:
    """GET `url` with `name=value`: a 400 naming `name` when `expected` is None, else a 200 whose body
    shows `expected` at the path `shown`."""
    answer = assert_documented(
        traffic.session.get(url, params={name: value}, headers={"x-functions-key": key}, timeout=30)
    )
    if expected is None:
        assert (answer.status, error_target(answer)) == (400, name), answer
        return
    assert answer.status == 200, answer
    body = json.loads(answer.body)
    for step in shown:
        body = body[step]
    assert body == expected, answer


def test_page_sizes_are_read_only_from_ascii_digits(api: str, traffic: Traffic, function_key: str) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples(80))
    @given(size=odd_numbers)
    def run(size: str) -> None:
        expected = plain_number(size.strip(), 100, 1) if size.strip() else 50
        read_or_refused(
            traffic, f"{api}/recordings", function_key, "pageSize", size, expected, ["query", "pageSize"]
        )

    run()


def test_health_windows_are_read_only_from_ascii_digits(
    api: str, traffic: Traffic, function_key: str
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples(60))
    @given(hours=odd_numbers)
    def run(hours: str) -> None:
        expected = plain_number(hours.strip(), 168, 1)
        read_or_refused(
            traffic, f"{api}/archive-health", function_key, "hours", hours, expected, ["window", "hours"]
        )

    run()


@pytest.mark.parametrize("suffix", ["", "/metadata"])
def test_chunk_indexes_are_read_only_from_ascii_digits(
    suffix: str, api: str, traffic: Traffic, function_key: str
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples(40))
    @given(index=odd_numbers.filter(lambda value: value.strip() != ""))
    def run(index: str) -> None:
        answer = assert_documented(
            traffic.session.get(
                f"{api}/recordings/bm9uZQ/archive/chunks/{quote(index, safe='')}{suffix}",
                headers={"x-functions-key": function_key},
                allow_redirects=False,
                timeout=30,
            )
        )
        if plain_number(index, 999) is None:
            assert (answer.status, error_target(answer)) == (400, "index"), answer
        else:  # a readable index of a recording that has no archive
            assert answer.status == 404, answer

    run()


def expected_refusal(bounds: dict[str, str]) -> str | None:
    """The parameter a 400 must name for these `from`/`to`, or None when they are a readable range."""
    instants: dict[str, datetime] = {}
    for name in ("from", "to"):
        if name in bounds:
            instant = utc_instant(bounds[name])
            if instant is None or not EARLIEST <= instant <= LATEST:
                return name
            instants[name] = instant
    if "from" in instants and "to" in instants and instants["from"] >= instants["to"]:
        return "from"
    return None


def bounded_listing(
    api: str, traffic: Traffic, key: str, filters: dict[str, str], lower: str | None, upper: str | None
) -> tuple[dict[str, str], Answer] | None:
    """GET /recordings with `filters` and these bounds: None once it was refused as it must be (a 400 naming
    the bound), else the bounds sent and the answer."""
    bounds = {name: value for name, value in (("from", lower), ("to", upper)) if value is not None}
    answer = assert_documented(
        traffic.session.get(
            f"{api}/recordings", params={**filters, **bounds}, headers={"x-functions-key": key}, timeout=30
        )
    )
    refused = expected_refusal(bounds)
    if refused is not None:
        assert (answer.status, error_target(answer)) == (400, refused), answer
        return None
    return bounds, answer


def test_times_at_the_edges_of_the_calendar_are_refused_by_name_or_answered_right(
    known: Known, api: str, traffic: Traffic, function_key: str
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples(120))
    @given(lower=st.none() | edge_times(), upper=st.none() | edge_times())
    def run(lower: str | None, upper: str | None) -> None:
        sent = bounded_listing(api, traffic, function_key, {"serverCallId": known.call}, lower, upper)
        if sent is None:
            return
        bounds, answer = sent
        assert answer.status == 200, answer
        listed = [entry["recordingId"] for entry in json.loads(answer.body)["recordings"]]
        start, end = utc_instant(bounds.get("from", "")), utc_instant(bounds.get("to", ""))
        inside = (start is None or start <= known.created) and (end is None or known.created < end)
        assert listed == ([known.recording_id] if inside else []), (bounds, known.created, answer)

    run()


@pytest.mark.parametrize(
    "filters", [{}, {"state": "inactive"}, {"archiveStatus": "Completed"}], ids=["time", "state", "archive"]
)
def test_edge_times_with_every_kind_of_listing_are_refused_by_name_or_answered(
    filters: dict[str, str], api: str, traffic: Traffic, function_key: str
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=examples(30))
    @given(lower=st.none() | edge_times(), upper=st.none() | edge_times())
    def run(lower: str | None, upper: str | None) -> None:
        sent = bounded_listing(api, traffic, function_key, filters, lower, upper)
        if sent is not None:  # a time query may still be refused for spanning over 366 days
            answer = sent[1]
            assert answer.status == 200 or (answer.status, error_target(answer)) == (400, "from"), answer

    run()
