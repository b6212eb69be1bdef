"""Empty and repeated query parameters of `GET /api/recordings`, as the Functions host hands them over.

The promise (docs/api.md "Query parameters", docs/openapi.json): a parameter given empty is the same as
leaving it out, because the host drops it before the app runs; a repeated parameter arrives once,
its non-empty values joined by commas, and no parameter of the listing takes a comma, so it is
refused with 400 naming it (a repeated `serverCallId` names no call: an empty page, or a 400).
Generated queries check both through the local host, which follows the host's rules
(devtools/devhost/http_binding.py `query_values`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.acs_emulator import AcsEmulator
from tests.hostile.answers import assert_documented
from tests.hostile.capture import Traffic
from tests.hostile.conftest import examples

NAMES = ("serverCallId", "state", "archiveStatus", "from", "to", "pageSize", "continuationToken")
BASES: tuple[dict[str, str], ...] = (
    {},
    {"state": "active"},
    {"archiveStatus": "Completed"},
    {"pageSize": "3"},
    {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
    {"state": "inactive", "pageSize": "2"},
    {"pageSize": "0"},  # refused: the empty ones beside it change nothing either
)
VALUES = {  # two values each, both valid alone
    "state": ("active", "inactive"),
    "archiveStatus": ("Completed", "Lost"),
    "pageSize": ("2", "3"),
    "from": ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
    "to": ("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"),
}
QUERY_SETTINGS = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def list_recordings(api: str, traffic: Traffic, function_key: str) -> Any:
    def send(query: str) -> requests.Response:
        response = traffic.session.get(
            f"{api}/recordings?{query}", headers={"x-functions-key": function_key}, timeout=30
        )
        assert_documented(response)
        return response

    return send


def encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


def outcome(response: requests.Response) -> tuple[Any, ...]:
    """What must not change: the status and, for a page, what was asked and what came back."""
    body = response.json()
    if response.status_code != 200:
        return response.status_code, body["error"]["code"], body["error"].get("target")
    query = body["query"]
    return 200, query["by"], query["value"], query["pageSize"], [r["recordingId"] for r in body["recordings"]]


def test_empty_parameters_answer_as_if_left_out(list_recordings: Any) -> None:
    @settings(QUERY_SETTINGS, max_examples=examples(30))
    @given(
        base=st.sampled_from(BASES),
        empties=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4),
        bare=st.booleans(),
        order=st.randoms(use_true_random=False),
    )
    def run(base: dict[str, str], empties: list[str], bare: bool, order: Any) -> None:
        pairs = [*base.items(), *((name, "") for name in empties)]
        order.shuffle(pairs)
        query = encode(pairs)
        if bare:  # `?state` without `=` is an empty value too
            query = "&".join(part.removesuffix("=") for part in query.split("&"))
        assert outcome(list_recordings(query)) == outcome(list_recordings(encode(list(base.items())))), query

    run()


def test_a_repeated_parameter_is_refused_naming_it(list_recordings: Any) -> None:
    @settings(QUERY_SETTINGS, max_examples=examples(20))
    @given(name=st.sampled_from(sorted(VALUES)), swap=st.booleans(), blank=st.booleans())
    def run(name: str, swap: bool, blank: bool) -> None:
        first, second = VALUES[name][::-1] if swap else VALUES[name]
        pairs = [(name, first), *([(name, "")] if blank else []), (name, second)]
        answer = list_recordings(encode(pairs))
        assert (answer.status_code, answer.json()["error"]["target"]) == (400, name), answer.text

    run()


def test_a_repeated_server_call_id_names_no_call(list_recordings: Any, emulator: AcsEmulator) -> None:
    call = emulator.create_call(participants=["8:acs:query_repeat"]).server_call_id
    answer = list_recordings(encode([("serverCallId", call), ("serverCallId", call)]))
    if answer.status_code == 200:  # looked up as given: `<id>,<id>` is no call's id
        assert (answer.json()["query"]["value"], answer.json()["recordings"]) == (f"{call},{call}", [])
    else:
        assert (answer.status_code, answer.json()["error"]["target"]) == (400, "serverCallId")


def test_parameter_names_are_case_sensitive_and_a_repeat_keeps_the_first_spelling(
    list_recordings: Any,
) -> None:
    unknown = list_recordings("State=active")
    assert (unknown.status_code, unknown.json()["query"]["by"]) == (200, "time")  # `State` is not `state`
    joined = list_recordings("state=active&State=inactive")
    assert (joined.status_code, joined.json()["error"]["target"]) == (400, "state")
