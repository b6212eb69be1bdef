"""Generated state callbacks over HTTP: captured RecordingStateChanged events, mutated or not, with a
token the emulator signed or one forged in every way we know; the route records what is valid and
refuses the rest in the documented shape, and a forged token changes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.answers import Answer, assert_documented
from tests.hostile.callback_strategies import (
    CallbackBody,
    TokenKind,
    Tokens,
    authorization_header,
    callback_bodies,
    one_event_body,
    well_formed_bodies,
)
from tests.hostile.capture import Traffic
from tests.hostile.conftest import examples

CALLBACK_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
FORGED = [kind for kind in TokenKind if not kind.is_valid]


@pytest.fixture(scope="module")
def callback_url(api: str) -> str:
    return f"{api}/callbacks/recording-state"


@pytest.fixture(scope="module")
def accepted_token(traffic: Traffic, callback_url: str, function_key: str, tokens: Tokens) -> str:
    """One token the route has accepted: what a replay re-sends."""
    token = tokens.make(TokenKind.VALID)
    body = one_event_body(f"first-{uuid.uuid4().hex}")
    answer = post(traffic, callback_url, body, authorization_header(TokenKind.VALID, token), function_key)
    assert answer.status == 204, answer
    assert token is not None
    tokens.accepted(token)
    return token


def post(traffic: Traffic, url: str, body: bytes, authorization: str | None, key: str | None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    if key is not None:
        headers["x-functions-key"] = key
    return Answer.of(traffic.session.post(url, data=body, headers=headers, timeout=30))


def catalog_state(traffic: Traffic, api: str, key: str, recording_id: str) -> int:
    """The status GET /api/recordings/{id} answers: 200 once the catalog knows it, else 404."""
    response = traffic.session.get(
        f"{api}/recordings/{recording_id}", headers={"x-functions-key": key}, timeout=30
    )
    assert_documented(response)
    return response.status_code


def test_signed_callbacks_are_recorded_or_refused_in_the_documented_shape(
    traffic: Traffic, callback_url: str, api: str, function_key: str, tokens: Tokens
) -> None:
    @settings(CALLBACK_SETTINGS, max_examples=examples(90))
    @given(body=callback_bodies())
    def run(body: CallbackBody) -> None:
        token = tokens.make(TokenKind.VALID)
        answer = post(
            traffic, callback_url, body.body, authorization_header(TokenKind.VALID, token), function_key
        )
        assert_documented(answer)
        assert answer.status in {204, 400, 413}, answer
        if body.well_formed:
            assert answer.status == 204, answer
            assert token is not None
            tokens.accepted(token)
            assert catalog_state(traffic, api, function_key, body.recording_ids[0]) == 200

    run()


@pytest.mark.usefixtures("accepted_token")  # so that a replay has a token to replay
def test_forged_tokens_are_401_and_change_nothing(
    traffic: Traffic, callback_url: str, api: str, function_key: str, tokens: Tokens
) -> None:
    @settings(CALLBACK_SETTINGS, max_examples=examples(90))
    @given(kind=st.sampled_from(FORGED), body=well_formed_bodies(prefix="forged"))
    def run(kind: TokenKind, body: CallbackBody) -> None:
        authorization = authorization_header(kind, tokens.make(kind))
        answer = post(traffic, callback_url, body.body, authorization, function_key)
        assert answer.status == 401, f"{kind.value}: {answer}"
        assert_documented(answer)
        assert json.loads(answer.body)["error"]["code"] == "InvalidCallbackToken"
        assert answer.headers.get("www-authenticate") == 'Bearer error="invalid_token"'
        assert catalog_state(traffic, api, function_key, body.recording_ids[0]) == 404

    run()


def test_callbacks_without_the_function_key_are_401_with_an_empty_body(
    traffic: Traffic, callback_url: str, tokens: Tokens
) -> None:
    @settings(CALLBACK_SETTINGS, max_examples=examples(15))
    @given(body=callback_bodies(), key=st.sampled_from([None, "", "wrong-key"]))
    def run(body: CallbackBody, key: str | None) -> None:
        token = tokens.make(TokenKind.VALID)
        answer = post(traffic, callback_url, body.body, authorization_header(TokenKind.VALID, token), key)
        assert (answer.status, answer.body) == (401, b""), answer

    run()
