"""Short ways to call our HTTP functions in tests, and to wait for asynchronous effects."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests

from tests.support.functions import http_request, invoke

if TYPE_CHECKING:
    from devtools.devhost import DevHost


def start(body: object) -> Any:
    return invoke("start_recording", http_request("POST", "recordings", body=body))


def on_recording(name: str, method: str, recording_id: str, suffix: str = "") -> Any:
    return invoke(
        name,
        http_request(
            method, f"recordings/{recording_id}{suffix}", route_params={"recordingId": recording_id}
        ),
    )


def get_over_http(host: DevHost, path: str, **params: str) -> requests.Response:
    """GET /api/<path>?<params> from the local host, with the function key."""
    return requests.get(
        f"{host.base_url}/api/{path}",
        params=params,
        headers={"x-functions-key": host.function_key},
        timeout=30,
    )


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
