"""The local host serves our HTTP functions over real HTTP like `func start`: routes, methods, keys."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from shared.settings import Settings
from tests.support.functions import indexed_functions

KEY = "local-test-key"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def host(app_settings: Settings) -> Iterator[DevHost]:
    with DevHost(list(indexed_functions()), port=0, function_key=KEY) as running:
        yield running


def api(host: DevHost, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{host.base_url}/api/{path}", timeout=10, **kwargs)


def test_the_function_list_it_prints_at_start_does_not_contain_the_key(host: DevHost) -> None:
    listing = "\n".join(host.describe())
    assert "eventGridTrigger" in listing
    assert KEY not in listing


def test_function_route_without_a_key_is_401(host: DevHost) -> None:
    assert api(host, "GET", "recordings", params={"serverCallId": "x"}).status_code == 401


def test_wrong_key_is_401(host: DevHost) -> None:
    assert api(host, "GET", "recordings", headers={"x-functions-key": "nope"}).status_code == 401


def test_key_in_the_code_query_parameter_is_accepted(host: DevHost) -> None:
    response = api(host, "GET", "recordings", params={"serverCallId": "x", "code": KEY})
    assert response.status_code == 200


def test_unknown_route_is_404(host: DevHost) -> None:
    assert api(host, "GET", "nothing-here", headers={"x-functions-key": KEY}).status_code == 404


def test_known_route_with_another_method_is_405(host: DevHost) -> None:
    assert api(host, "PUT", "recordings", headers={"x-functions-key": KEY}).status_code == 405


def test_start_pause_resume_stop_over_http(host: DevHost, emulator: AcsEmulator) -> None:
    headers = {"x-functions-key": KEY}
    call = emulator.create_call(participants=["8:acs:devhost_1"])
    started = api(host, "POST", "recordings", headers=headers, json={"serverCallId": call.server_call_id})
    assert started.status_code == 201
    assert started.headers["content-type"].startswith("application/json")
    recording = started.json()["recordingId"]
    assert api(host, "POST", f"recordings/{recording}/pause", headers=headers).status_code == 202
    assert api(host, "POST", f"recordings/{recording}/resume", headers=headers).status_code == 202
    assert api(host, "DELETE", f"recordings/{recording}", headers=headers).status_code == 204
    assert api(host, "GET", f"recordings/{recording}", headers=headers).json()["live"] is False


def test_the_local_host_refuses_to_start_an_app_the_python_worker_refuses(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(
        "from typing import Any\n"
        "import azure.durable_functions as df\n\n"
        "app = df.DFApp()\n\n\n"
        '@app.activity_trigger(input_name="payload")\n'
        "def archive_chunk(payload: dict[str, Any]) -> None:\n"
        "    pass\n",
        encoding="utf-8",
    )
    started = subprocess.run(
        [sys.executable, "-m", "devtools.devhost", "--port", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 1
    assert "binding payload has invalid non-type annotation dict[str, typing.Any]" in started.stderr
    assert "Listening on" not in started.stdout
