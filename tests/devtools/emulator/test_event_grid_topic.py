"""The local Event Grid topic (devtools/event_grid) answers a publish as the service documents it, and is
never more forgiving: Entra bearer tokens for Event Grid only, CloudEvents content types, required
attributes, 1 MB per event and per batch; accepted events reach a subscribed webhook."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.entra import EVENT_GRID_RESOURCE, EntraIssuer
from devtools.event_grid import LocalTopic
from devtools.event_grid.topic import MAX_BYTES
from tests.support.event_receiver import event_receiver


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 600)


@pytest.fixture
def topic(emulator: AcsEmulator) -> Iterator[LocalTopic]:
    with LocalTopic(
        emulator.entra, emulator.ca, ssl.create_default_context(cafile=emulator.ca_pem_path)
    ) as running:
        yield running


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "type": "Test.Thing.Happened",
        "source": "/test",
        "subject": "things/1",
        "id": "8b0bd3e4-7d5b-4c43-8f3a-1f1e0f0c1d2e",
        "time": "2026-12-03T10:00:00.000Z",
        "datacontenttype": "application/json",
        "data": {"n": 1},
        **overrides,
    }


def post(
    topic: LocalTopic,
    emulator: AcsEmulator,
    body: bytes,
    *,
    token: str | None = None,
    content_type: str = "application/cloudevents-batch+json; charset=utf-8",
    query: str = "?api-version=2018-01-01",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {"Content-Type": content_type, **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return requests.post(
        topic.endpoint + query, data=body, headers=sent, verify=emulator.ca_pem_path, timeout=10
    )


def trusting(emulator: AcsEmulator) -> dict[str, Any]:
    """The emulator's CA, per send (for a basic topic the SDK drops constructor options)."""
    return {"connection_verify": emulator.ca_pem_path}


def good_token(emulator: AcsEmulator) -> str:
    return emulator.entra.token(audience=EVENT_GRID_RESOURCE)


def test_the_sdk_publishes_with_a_managed_identity_token_and_a_subscriber_gets_each_event(
    topic: LocalTopic, emulator: AcsEmulator
) -> None:
    with event_receiver() as receiver:
        topic.subscribe(receiver.url)
        client = EventGridPublisherClient(topic.endpoint, StaticToken(good_token(emulator)))
        client.send([CloudEvent.from_dict(event(id=f"id-{i}")) for i in range(3)], **trusting(emulator))
        got = receiver.wait_for(lambda events: len(events) == 3, 10)
    assert sorted(e["id"] for e in got) == ["id-0", "id-1", "id-2"]
    assert set(receiver.content_types) == {"application/cloudevents+json; charset=utf-8"}
    assert [a.status for a in topic.attempts] == [200]


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda issuer: issuer.token(), id="acs-audience"),
        pytest.param(
            lambda issuer: EntraIssuer(issuer.tenant_id).token(audience=EVENT_GRID_RESOURCE), id="other-key"
        ),
        pytest.param(
            lambda issuer: issuer.token(audience=EVENT_GRID_RESOURCE, lifetime_s=-3600), id="expired"
        ),
        pytest.param(lambda issuer: "not-a-jwt", id="garbage"),
    ],
)
def test_a_token_event_grid_would_not_take_is_401(
    topic: LocalTopic, emulator: AcsEmulator, forge: Any
) -> None:
    client = EventGridPublisherClient(topic.endpoint, StaticToken(forge(emulator.entra)))
    with pytest.raises(ClientAuthenticationError):
        client.send([CloudEvent.from_dict(event())], **trusting(emulator))
    assert topic.events() == []


def test_no_token_or_a_topic_key_is_401_local_auth_being_off(
    topic: LocalTopic, emulator: AcsEmulator
) -> None:
    body = json.dumps([event()]).encode()
    assert post(topic, emulator, body).status_code == 401
    answer = post(topic, emulator, body, headers={"aeg-sas-key": "c29tZS1rZXk="})
    assert answer.status_code == 401
    assert set(answer.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    ("body", "content_type", "query"),
    [
        pytest.param([event()], "application/json", "?api-version=2018-01-01", id="event-grid-content-type"),
        pytest.param([event()], "application/cloudevents-batch+json", "", id="no-api-version"),
        pytest.param(
            [event()], "application/cloudevents-batch+json", "?api-version=2099-01-01", id="unknown-version"
        ),
        pytest.param(
            [event(specversion="0.3")],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="spec-0.3",
        ),
        pytest.param(
            [{k: v for k, v in event().items() if k != "source"}],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="no-source",
        ),
        pytest.param(
            [event(time="yesterday")],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="bad-time",
        ),
        pytest.param(
            [event(time="2026-12-03T10:00:00")],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="time-without-zone",
        ),
        pytest.param(
            [event(time="2026-12-03")],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="date-only",
        ),
        pytest.param(
            [event(data_base64="AA==")],
            "application/cloudevents-batch+json",
            "?api-version=2018-01-01",
            id="data-twice",
        ),
        pytest.param(
            event(), "application/cloudevents-batch+json", "?api-version=2018-01-01", id="batch-not-array"
        ),
        pytest.param([], "application/cloudevents-batch+json", "?api-version=2018-01-01", id="empty-batch"),
    ],
)
def test_what_the_service_refuses_is_400(
    topic: LocalTopic, emulator: AcsEmulator, body: object, content_type: str, query: str
) -> None:
    answer = post(
        topic,
        emulator,
        json.dumps(body).encode(),
        token=good_token(emulator),
        content_type=content_type,
        query=query,
    )
    assert answer.status_code == 400, answer.text
    assert topic.events() == []


def test_one_structured_cloud_event_is_taken_too(topic: LocalTopic, emulator: AcsEmulator) -> None:
    answer = post(
        topic,
        emulator,
        json.dumps(event()).encode(),
        token=good_token(emulator),
        content_type="application/cloudevents+json; charset=utf-8",
    )
    assert (answer.status_code, answer.content) == (200, b"")


def test_an_event_over_1_mb_or_a_batch_over_1_mb_is_413(topic: LocalTopic, emulator: AcsEmulator) -> None:
    big = event(data={"blob": "x" * MAX_BYTES})
    assert post(topic, emulator, json.dumps([big]).encode(), token=good_token(emulator)).status_code == 413
    halves = [event(id=f"h{i}", data={"blob": "x" * (MAX_BYTES // 2)}) for i in range(2)]
    assert post(topic, emulator, json.dumps(halves).encode(), token=good_token(emulator)).status_code == 413
    just_under = [event(data={"blob": "x" * (MAX_BYTES - 1000)})]
    assert (
        post(topic, emulator, json.dumps(just_under).encode(), token=good_token(emulator)).status_code == 200
    )
    assert len(topic.events()) == 1


def test_an_injected_fault_is_answered_and_the_sdk_sees_it(topic: LocalTopic, emulator: AcsEmulator) -> None:
    topic.fail_next(1, status=503)
    client = EventGridPublisherClient(topic.endpoint, StaticToken(good_token(emulator)))
    with pytest.raises(HttpResponseError):
        client.send([CloudEvent.from_dict(event())], retry_total=0, **trusting(emulator))
    client.send([CloudEvent.from_dict(event())], **trusting(emulator))
    assert [a.status for a in topic.attempts] == [503, 200]
