"""Request bodies our HTTP functions read: every body, however nested, gets a 4xx error body."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from shared.errors import ApiError
from shared.http import MAX_JSON_DEPTH, api_handler, read_json


def post(body: bytes) -> func.HttpRequest:
    return func.HttpRequest(method="POST", url="http://localhost/api/recordings", body=body)


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@api_handler
def echo_json(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(read_json(req)), mimetype="application/json")


def test_json_nested_1000_deep_answers_400_invalid_json_error_body() -> None:
    response = echo_json(post(nested(1000)))
    error = json.loads(response.get_body())["error"]
    assert (response.status_code, error["code"]) == (400, "InvalidJson")
    assert "nest" in error["message"]


def test_json_nested_one_level_past_the_limit_is_refused() -> None:
    with pytest.raises(ApiError) as refused:
        read_json(post(nested(MAX_JSON_DEPTH + 1)))
    assert (refused.value.status, refused.value.code) == (400, "InvalidJson")


def test_json_nested_to_the_limit_is_parsed() -> None:
    assert read_json(post(nested(MAX_JSON_DEPTH))) is not None


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = "[{" * 1000 + '\\"['
    assert read_json(post(json.dumps({"message": text}).encode())) == {"message": text}


def test_objects_count_toward_the_depth_like_arrays() -> None:
    body = b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(ApiError) as refused:
        read_json(post(body))
    assert refused.value.code == "InvalidJson"
