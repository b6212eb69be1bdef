"""The local host does what the Functions host and the Python worker do, shown through a probe app.

Each test names the rule it holds (the source is cited where the local host implements it:
devtools/devhost/*.py, devtools/pyworker/worker.py). The probe app runs in the Python worker, as
the real app does, so what it sees is what the worker's own code made of the host's request.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.devtools.devhost.probe import KEY, MASTER, ONCE_A_YEAR, Probe, probe_host

NOTIFICATION = {"aeg-event-type": "Notification"}


@pytest.fixture
def probe(tmp_path: Path) -> Iterator[Probe]:
    with probe_host(tmp_path) as running:
        yield running


def get(probe: Probe, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(
        f"{probe.host.base_url}/api/{path}", headers={"x-functions-key": KEY}, timeout=10, **kwargs
    )


def grid_event(event_id: str, **data: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "subject": "probe",
        "eventType": "Probe.Event",
        "eventTime": "2026-12-01T00:00:00Z",
        "data": data,
        "dataVersion": "1",
    }


def deliver(
    probe: Probe, function: str, body: Any, headers: dict[str, str] | None = None
) -> requests.Response:
    url = f"{probe.host.base_url}/runtime/webhooks/eventgrid?functionName={function}&code={KEY}"
    return requests.post(
        url, data=json.dumps(body), headers=NOTIFICATION if headers is None else headers, timeout=30
    )


# -- 1. return values: the worker's rule -------------------------------------------------------


def test_a_function_without_return_binding_that_returns_a_value_fails_as_the_worker_fails_it(
    probe: Probe,
) -> None:
    # azure_functions_runtime native_invocation._check_return: no $return binding, not None -> failure
    answer = deliver(probe, "grid_returns", [grid_event("r1")])
    assert probe.wait_for("grid_returns")  # it ran ...
    assert answer.status_code == 500  # ... and the invocation failed, so Event Grid would retry
    assert answer.text == "Exception while executing function: Functions.grid_returns"


# -- 2. Event Grid deliveries: the extension's HttpRequestProcessor ---------------------------


def test_a_delivery_runs_its_events_at_once_and_answers_202(probe: Probe) -> None:
    started = time.monotonic()
    answer = deliver(probe, "grid", [grid_event("p1", sleep=1.0), grid_event("p2", sleep=1.0)])
    elapsed = time.monotonic() - started
    assert answer.status_code == 202
    assert {note["id"] for note in probe.notes("grid-done")} == {"p1", "p2"}
    assert elapsed < 1.8, f"the two 1 s events took {elapsed:.1f} s: one after the other"


def test_a_failed_event_answers_500_after_every_event_of_the_delivery_ran(probe: Probe) -> None:
    answer = deliver(probe, "grid", [grid_event("f1", fail=True), grid_event("f2"), grid_event("f3")])
    assert answer.status_code == 500  # Event Grid delivers the whole batch again
    assert {note["id"] for note in probe.notes("grid-done")} == {"f1", "f2", "f3"}


@pytest.mark.parametrize("header", [None, "", "notification ", "Something"])
def test_a_delivery_without_a_known_aeg_event_type_is_400_and_runs_nothing(
    probe: Probe, header: str | None
) -> None:
    headers = {} if header is None else {"aeg-event-type": header}
    assert deliver(probe, "grid", [grid_event("h1")], headers).status_code == 400
    assert probe.notes("grid") == []


def test_the_handshake_is_decided_by_the_header_not_the_body(probe: Probe) -> None:
    validation = {
        **grid_event("v1", validationCode="code-1"),
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
    }
    as_header = deliver(probe, "grid", [validation], {"aeg-event-type": "SubscriptionValidation"})
    assert (as_header.status_code, as_header.json()) == (200, {"validationResponse": "code-1"})
    assert probe.notes("grid") == []
    as_notification = deliver(probe, "grid", [validation])  # a notification: the function gets it
    assert as_notification.status_code == 202
    assert [note["event_type"] for note in probe.wait_for("grid")] == [
        "Microsoft.EventGrid.SubscriptionValidationEvent"
    ]


def test_the_cloudevents_handshake_is_an_options_request(probe: Probe) -> None:
    url = f"{probe.host.base_url}/runtime/webhooks/eventgrid?functionName=grid&code={KEY}"
    answer = requests.options(url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert (answer.status_code, answer.headers["Webhook-Allowed-Origin"]) == (200, "eventgrid.azure.net")


def test_unsubscribe_is_202_and_an_unreadable_notification_the_hosts_500(probe: Probe) -> None:
    assert deliver(probe, "grid", [], {"aeg-event-type": "Unsubscribe"}).status_code == 202
    url = f"{probe.host.base_url}/runtime/webhooks/eventgrid?functionName=grid&code={KEY}"
    broken = requests.post(url, data=b"{not json", headers=NOTIFICATION, timeout=10)
    assert (broken.status_code, broken.content) == (500, b"")


def test_the_webhook_takes_the_master_key_and_names_an_unknown_function(probe: Probe) -> None:
    base = f"{probe.host.base_url}/runtime/webhooks/eventgrid"
    assert (
        requests.post(
            f"{base}?functionName=grid&code={MASTER}", json=[], headers=NOTIFICATION, timeout=10
        ).status_code
        == 202
    )
    missing = requests.post(f"{base}?functionName=nope&code={KEY}", json=[], headers=NOTIFICATION, timeout=10)
    assert (missing.status_code, missing.text) == (404, "cannot find function: 'nope'")


# -- 3. query strings: the host's QueryCollection and ToRpcHttp ------------------------------


def test_empty_parameters_never_reach_the_function_and_repeats_arrive_joined(probe: Probe) -> None:
    answer = get(probe, "echo/x?a=&b=1&B=2&b=&b=3&c=%2B+%C3%A9&d")
    seen = answer.json()
    assert seen["params"] == {"b": "1,2,3", "c": "+ é"}  # `a`, the empty `b` and `d` dropped
    assert seen["url"].endswith("/api/echo/x?a=&b=1&B=2&b=&b=3&c=%2B+%C3%A9&d")  # the raw query


def test_repeated_parameter_names_keep_their_first_spelling(probe: Probe) -> None:
    assert get(probe, "echo/x?Name=a&name=b").json()["params"] == {"Name": "a,b"}


# -- 4. responses: encoded by the worker, written by the host --------------------------------


def test_a_json_response_carries_the_content_type_the_worker_encodes(probe: Probe) -> None:
    # azure.functions HttpResponseConverter.encode: a charset only for text/* types.
    assert get(probe, "shapes/json").headers["Content-Type"] == "application/json"
    assert get(probe, "shapes/text").headers["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(("kind", "status"), [("empty", 204), ("accepted", 202)])
def test_an_empty_response_still_carries_the_encoded_content_type(
    probe: Probe, kind: str, status: int
) -> None:
    answer = get(probe, f"shapes/{kind}")
    assert (answer.status_code, answer.content) == (status, b"")
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_of_two_headers_differing_in_case_the_first_is_written(probe: Probe) -> None:
    # RawScriptResult adds a header only if the response has none of that name yet.
    assert get(probe, "shapes/headers").headers["X-Probe"] == "first"


def test_each_set_cookie_becomes_a_cookie_aspnet_core_writes(probe: Probe) -> None:
    answer = get(probe, "shapes/cookies")
    cookies = answer.raw.headers.get_all("Set-Cookie")
    assert cookies == [
        "session=abc; domain=; path=/; httponly",
        "theme=dark%20mode; max-age=60; domain=; path=; secure; samesite=lax",
    ]


# -- 6. route values: routing on Kestrel's path, %2F left encoded --------------------------


def test_an_encoded_slash_stays_inside_one_route_value(probe: Probe) -> None:
    seen = get(probe, "echo/a%2Fb%20c").json()
    assert seen["route"] == {"value": "a%2Fb c"}


def test_dot_segments_are_removed_before_routing(probe: Probe) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", probe.host.port, timeout=10)
    try:  # sent as it is: requests would remove the dot segments itself
        connection.request("GET", "/api/nothing/../echo/./dots", headers={"x-functions-key": KEY})
        answer = connection.getresponse()
        assert json.loads(answer.read())["route"] == {"value": "dots"}
    finally:
        connection.close()


# -- request bodies (issue 24): chunked like Content-Length ----------------------------------


def test_a_chunked_request_body_reaches_the_function_whole(probe: Probe) -> None:
    def pieces() -> Iterator[bytes]:
        yield b'{"chunked": '
        yield b"true}"

    answer = requests.post(
        f"{probe.host.base_url}/api/echo/body", data=pieces(), headers={"x-functions-key": KEY}, timeout=10
    )
    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    assert answer.json()["body"] == '{"chunked": true}'


# -- 5. timers and the admin API --------------------------------------------------------------


def test_a_run_on_startup_timer_runs_once_at_start(tmp_path: Path) -> None:
    started = time.time()
    with probe_host(tmp_path, tick=ONCE_A_YEAR) as probe:  # next occurrence: next New Year
        (tick,) = probe.wait_for("tick")
        time.sleep(1.0)
        assert len(probe.notes("tick")) == 1
    assert tick["at"] - started < 5
    assert tick["past_due"] is False


def test_a_timer_runs_on_the_ncrontab_schedule_its_app_setting_names(tmp_path: Path) -> None:
    # The probe's schedule is `%PROBE_TICK%`: the app setting holds the NCRONTAB expression.
    with probe_host(tmp_path, tick="*/1 * * * * *") as probe:
        ticks = probe.wait_for("tick", count=4, timeout=10)
    scheduled = [tick["at"] for tick in ticks[1:]]  # after the startup run: one a second, on the second
    assert all(0.4 < later - earlier < 2.0 for earlier, later in itertools.pairwise(scheduled))
    assert all(at % 1 < 0.6 for at in scheduled)  # on the second, plus the invocation's latency


def test_the_admin_api_runs_a_timer_function_with_the_master_key_only(probe: Probe) -> None:
    url = f"{probe.host.base_url}/admin/functions/nightly"
    json_body = {"Content-Type": "application/json"}
    assert (
        requests.post(url, json={"input": ""}, headers={"x-functions-key": KEY}, timeout=10).status_code
        == 401
    )
    assert probe.notes("nightly") == []
    answer = requests.post(url, json={"input": ""}, headers={"x-functions-key": MASTER}, timeout=10)
    assert (answer.status_code, answer.content) == (202, b"")
    (note,) = probe.wait_for("nightly")
    assert note["past_due"] is False
    assert set(note["status"]) == {"Last", "Next", "LastUpdated"}  # useMonitor: the schedule's status
    no_body = requests.post(url, data=b"", headers={"x-functions-key": MASTER, **json_body}, timeout=10)
    assert no_body.status_code == 400
    missing = requests.post(
        f"{probe.host.base_url}/admin/functions/nope",
        json={},
        headers={"x-functions-key": MASTER},
        timeout=10,
    )
    assert missing.status_code == 404


def test_the_admin_api_passes_an_activity_its_input_and_refuses_to_bind_an_http_function(
    probe: Probe,
) -> None:
    headers = {"x-functions-key": MASTER}
    base = f"{probe.host.base_url}/admin/functions"
    assert (
        requests.post(
            f"{base}/probe_activity", json={"input": '"hello"'}, headers=headers, timeout=10
        ).status_code
        == 202
    )
    assert probe.wait_for("probe_activity")[0]["payload"] == "hello"
    assert requests.post(f"{base}/echo", json={"input": "x"}, headers=headers, timeout=10).status_code == 202
    assert (
        requests.post(
            f"{base}/probe_orchestrator", json={"input": "x"}, headers=headers, timeout=10
        ).status_code
        == 202
    )
    time.sleep(0.5)
    assert probe.notes("probe_orchestrator") == []  # "Don't know how to bind to String."


def test_a_schedule_the_timer_extension_cannot_parse_stops_the_host(tmp_path: Path) -> None:
    from devtools.devhost.host import IndexingError

    seven_fields = r"'tick'.*'\*/1 \* \* \* \* \* \*' was not recognized as a valid cron expression"
    with pytest.raises(IndexingError, match=seven_fields), probe_host(tmp_path, tick="*/1 * * * * * *"):
        pass
    unset = r"'%PROBE_TICK%' does not resolve to a value"
    with pytest.raises(IndexingError, match=unset), probe_host(tmp_path, tick=None):
        pass


def test_a_timespan_schedule_stops_the_host_as_flex_consumption_cannot_run_it(tmp_path: Path) -> None:
    """The timer extension parses `00:05:00`, but only an App Service plan runs a TimeSpan; the app
    deploys to Flex Consumption, where such a setting would never fire."""
    from devtools.devhost.host import IndexingError

    timespan = r"'00:05:00' is a TimeSpan, which runs only on an App Service plan"
    with pytest.raises(IndexingError, match=timespan), probe_host(tmp_path, tick="00:05:00"):
        pass
