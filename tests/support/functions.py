"""Call our functions in this process through the app's own indexing (the integration suite's fast
path; e2e, chaos and hostile tests go through the local host, which runs them in the Python worker)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from devtools.devhost.invoke import call_function
from function_app import app


@cache
def indexed_functions() -> tuple[Any, ...]:
    """The app's functions as the worker indexes them (the SDK allows indexing once per process)."""
    return tuple(app.get_functions())


def function_named(name: str) -> Any:
    for function in indexed_functions():
        if function.get_function_name() == name:
            return function
    raise KeyError(f"no function named {name}")


def http_request(
    method: str,
    route: str,
    *,
    body: bytes | str | object = b"",
    params: Mapping[str, str] | None = None,
    route_params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> func.HttpRequest:
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    query = f"?{urlencode(params)}" if params else ""
    all_headers = {"content-type": "application/json", **(headers or {})}
    return func.HttpRequest(
        method=method,
        url=f"http://localhost:7071/api/{route}{query}",
        headers=all_headers,
        params=dict(params or {}),
        route_params=dict(route_params or {}),
        body=raw,
    )


def invoke(name: str, request: func.HttpRequest, *, durable_client: str | None = None) -> func.HttpResponse:
    """Run the function registered under `name` with a real HttpRequest, as the worker would."""
    response = call_function(function_named(name), request, durable_client=durable_client)
    assert isinstance(response, func.HttpResponse)
    return response


def run_timer(name: str, *, durable_client: str | None = None) -> None:
    """Run the timer function registered under `name` now, as the host does on its schedule."""
    from azure.functions.timer import TimerRequest

    assert (
        call_function(function_named(name), TimerRequest(past_due=False), durable_client=durable_client)
        is None
    )


def json_body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body() or b"null")
