"""The local host's limits: what it answers to bodies too large or too deep, and to bursts.

None of these answers runs a function, so the host needs no app settings or servers behind it.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from devtools.devhost import DevHost
from devtools.devhost.eventgrid import MAX_DELIVERY_BYTES
from tests.support.local_stack import hosted_app

KEY = "limits-test-key"
EVENT_FUNCTION = "on_acs_event"
NOTIFICATION = {"aeg-event-type": "Notification", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def host() -> Iterator[DevHost]:
    with hosted_app(function_key=KEY) as running:
        yield running


def connect(host: DevHost) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", host.port, timeout=10)


def post_event_grid(host: DevHost, body: bytes) -> tuple[int, bytes]:
    url = urlsplit(host.event_grid_url(EVENT_FUNCTION))
    connection = connect(host)
    try:
        connection.request("POST", f"{url.path}?{url.query}", body=body, headers=NOTIFICATION)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_event_grid_delivery_nested_deeper_than_json_net_reads_is_the_hosts_500(host: DevHost) -> None:
    # The extension's Json.NET reader stops at 64 levels; the host answers the exception with 500.
    assert post_event_grid(host, b"[" * 65 + b"]" * 65) == (500, b"")
    assert post_event_grid(host, b"[" * 1000 + b"]" * 1000) == (500, b"")
    assert post_event_grid(host, b"[" * 64 + b"]" * 64)[0] == 500  # read, but no event is a JSON object


def test_event_grid_delivery_declaring_more_than_1_mib_answers_413_unread(host: DevHost) -> None:
    url = urlsplit(host.event_grid_url(EVENT_FUNCTION))
    connection = connect(host)
    try:
        connection.putrequest("POST", f"{url.path}?{url.query}")
        for name, value in NOTIFICATION.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(200 * 1024 * 1024))
        connection.endheaders()  # no body sent: the answer must come from the headers alone
        response = connection.getresponse()
        assert (response.status, response.getheader("connection")) == (413, "close")
    finally:
        connection.close()


def test_event_grid_delivery_of_exactly_1_mib_is_accepted(host: DevHost) -> None:
    body = b"[]".ljust(MAX_DELIVERY_BYTES, b" ")
    assert post_event_grid(host, body)[0] == 202  # an empty batch: every one of its events ran


def test_a_burst_of_200_concurrent_requests_is_all_answered(host: DevHost) -> None:
    burst = 200
    ready = threading.Barrier(burst, timeout=10)

    def request(_: int) -> int | str:
        ready.wait()  # all connect at once, as a burst does
        connection = connect(host)
        try:
            connection.request("GET", "/api/nothing-here")  # 404 from the host: no function runs
            return connection.getresponse().status
        except OSError as error:
            return type(error).__name__
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=burst) as pool:
        answers = list(pool.map(request, range(burst)))
    assert Counter(answers) == {404: burst}


@pytest.mark.parametrize("declared", ["abc", "-5", "1e3"])
def test_a_malformed_content_length_is_answered_400(host: DevHost, declared: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", host.port, timeout=5)
    connection.putrequest("POST", "/api/recordings")
    connection.putheader("Content-Length", declared)
    connection.endheaders()
    assert connection.getresponse().status == 400
