"""Generated Event Grid deliveries to the local host's webhook: mutated RecordingFileStatusUpdated,
CallStarted and CallEnded events, validation handshakes and garbage. The app's function may never
fail on any of them (a failure answers 500, and Event Grid retries the delivery for a day), and none
may make the app fetch a URL off the allow-list (judged at the end of the folder, in
test_traffic_audit.py, once the archives they started have settled).

The webhook answers as the Event Grid extension does (devtools/devhost/eventgrid.py): 202 when
every event ran, 400 without a known `aeg-event-type`, 200 to a handshake, 413 above Event Grid's
1 MB delivery limit, and the host's own 500 with no body to a body it cannot read (not JSON, or
nested deeper than Json.NET reads). An event that is no JSON object cannot be bound, so the function
never runs for it and the delivery answers 500: the extension's answer, not the app's failure. What
tells the two apart is the host's log: a failed invocation of the function.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.devhost.eventgrid import MAX_DELIVERY_BYTES, token_text
from tests.hostile.capture import Traffic
from tests.hostile.conftest import examples
from tests.hostile.event_strategies import (
    Delivery,
    call_event_deliveries,
    event_deliveries,
    garbage_deliveries,
    validation_deliveries,
)
from tests.hostile.trap import Trap
from tests.support.local_stack import EVENT_FUNCTION, LocalStack

HOST_ANSWERS = frozenset({202, 400, 413, 500})  # what the extension and the host say (module docstring)
FAILED = f"Executed 'Functions.{EVENT_FUNCTION}' (Failed"
EVENT_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module")
def webhook(hostile_stack: LocalStack) -> str:
    assert hostile_stack.host is not None
    return hostile_stack.host.event_grid_url(EVENT_FUNCTION)


class FailedInvocations(logging.Handler):
    """The host's log lines of a failed invocation of the Event Grid function."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(FAILED):
            self.lines.append(message)


@pytest.fixture
def failed_invocations() -> Iterator[FailedInvocations]:
    handler = FailedInvocations()
    logging.getLogger("devhost").addHandler(handler)
    yield handler
    logging.getLogger("devhost").removeHandler(handler)


def deliver(traffic: Traffic, webhook: str, delivery: Delivery) -> tuple[int, bytes]:
    response = traffic.session.post(webhook, data=delivery.body, headers=delivery.headers, timeout=60)
    return response.status_code, response.content


def test_mutated_recording_events_never_fail_the_function(
    traffic: Traffic, webhook: str, trap: Trap, failed_invocations: FailedInvocations
) -> None:
    @settings(EVENT_SETTINGS, max_examples=examples(120))
    @given(delivery=event_deliveries(trap.forged_urls("/v1/objects/0-eus-d1-x/content/audio")))
    def run(delivery: Delivery) -> None:
        trap.forged_deliveries += delivery.forged
        status, body = deliver(traffic, webhook, delivery)
        assert failed_invocations.lines == [], f"{status} {body[:300]!r}: {failed_invocations.lines[:1]}"
        # Every event is a JSON object: only the host's own 500 (a body nested too deep) is left.
        assert status in {202, 413} or (status, body) == (500, b""), f"{status} {body[:300]!r}"

    run()


@pytest.fixture
def record_every_call(api: str, function_key: str) -> Iterator[None]:
    """A policy that records every call, so that CallStarted goes all the way to a start; off after."""
    policy = {"rules": [{"name": "every-call", "match": {}, "record": {}}]}
    key = {"x-functions-key": function_key}
    assert requests.put(f"{api}/recording-policy", json=policy, headers=key, timeout=30).status_code == 200
    yield
    off = requests.put(f"{api}/recording-policy", json={"rules": []}, headers=key, timeout=30)
    assert off.status_code == 200


def test_mutated_call_events_never_fail_the_function(
    traffic: Traffic, webhook: str, failed_invocations: FailedInvocations, record_every_call: None
) -> None:
    @settings(EVENT_SETTINGS, max_examples=examples(60))
    @given(delivery=call_event_deliveries())
    def run(delivery: Delivery) -> None:
        status, body = deliver(traffic, webhook, delivery)
        assert failed_invocations.lines == [], f"{status} {body[:300]!r}: {failed_invocations.lines[:1]}"
        assert status in {202, 413} or (status, body) == (500, b""), f"{status} {body[:300]!r}"

    run()


def test_validation_handshakes_echo_the_code_as_the_extension_reads_it(
    traffic: Traffic, webhook: str, failed_invocations: FailedInvocations
) -> None:
    @settings(EVENT_SETTINGS, max_examples=examples(50))
    @given(delivery=validation_deliveries())
    def run(delivery: Delivery) -> None:
        status, body = deliver(traffic, webhook, delivery)
        assert status in HOST_ANSWERS | {200}, f"{status} {body[:300]!r}"
        assert failed_invocations.lines == [], f"{status} {body[:300]!r}: {failed_invocations.lines[:1]}"
        if delivery.event_type_header == "SubscriptionValidation":
            code = json.loads(delivery.body)[0]["data"]["validationCode"]
            assert (status, json.loads(body)) == (200, {"validationResponse": token_text(code)})

    run()


def test_bodies_that_are_no_delivery_never_reach_or_fail_the_function(
    traffic: Traffic, webhook: str, failed_invocations: FailedInvocations
) -> None:
    @settings(EVENT_SETTINGS, max_examples=examples(60))
    @given(delivery=garbage_deliveries())
    def run(delivery: Delivery) -> None:
        status, body = deliver(traffic, webhook, delivery)
        assert status in HOST_ANSWERS | {200}, f"{status} {body[:300]!r}"
        assert failed_invocations.lines == [], f"{status} {body[:300]!r}: {failed_invocations.lines[:1]}"

    run()


def test_deliveries_without_the_key_are_401_with_an_empty_body(
    traffic: Traffic, webhook: str, trap: Trap
) -> None:
    @settings(EVENT_SETTINGS, max_examples=examples(15))
    @given(
        delivery=event_deliveries(trap.forged_urls("/x")),
        code=st.sampled_from(["", "wrong", "x" * 64]),
    )
    def run(delivery: Delivery, code: str) -> None:
        url = webhook.rsplit("&code=", 1)[0] + (f"&code={code}" if code else "")
        response = traffic.session.post(url, data=delivery.body, headers=delivery.headers, timeout=60)
        # Above the delivery limit the local host answers 413 before it looks at the key; which of
        # the two the real host checks first is not documented, and neither runs the function.
        refusals = {401, 413} if len(delivery.body) > MAX_DELIVERY_BYTES else {401}
        assert response.status_code in refusals
        assert response.content == b""

    run()
