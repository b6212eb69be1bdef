"""The local host serves our HTTP functions over real HTTP like `func start`: routes, methods, keys.

The app runs in the Python worker (the worker's own code, Python 3.13), as in `make run`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from shared.settings import Settings
from tests.support.local_stack import hosted_app

KEY = "local-test-key"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def host(app_settings: Settings, emulator: AcsEmulator) -> Iterator[DevHost]:
    with hosted_app(emulator=emulator, function_key=KEY) as running:
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


def test_a_start_request_sent_chunked_is_read_whole(host: DevHost, emulator: AcsEmulator) -> None:
    """`requests` with a generator (like `curl -T -`) sends Transfer-Encoding: chunked; Azure's front
    end hands the app the whole body, and so does the local host (issue 24)."""
    call = emulator.create_call(participants=["8:acs:devhost_chunked"])
    body = json.dumps({"serverCallId": call.server_call_id}).encode()

    def chunks() -> Iterator[bytes]:
        yield body[:10]
        yield body[10:]

    started = api(host, "POST", "recordings", headers={"x-functions-key": KEY}, data=chunks())
    assert started.request.headers.get("Transfer-Encoding") == "chunked"
    assert started.status_code == 201, started.text


def test_an_empty_filter_means_no_filter_and_a_repeated_one_is_refused(host: DevHost) -> None:
    """What the Functions host hands the app (docs/api.md, "Query parameters"): `?state=` never arrives,
    `?state=a&state=b` arrives as `state=a,b`."""
    headers = {"x-functions-key": KEY}
    empty = api(host, "GET", "recordings?state=&archiveStatus=", headers=headers)
    assert (empty.status_code, empty.json()["query"]["by"]) == (200, "time")
    repeated = api(host, "GET", "recordings?state=active&state=inactive", headers=headers)
    assert repeated.status_code == 400
    assert repeated.json()["error"]["target"] == "state"


def test_a_recording_id_with_an_encoded_slash_reaches_the_route_with_it(host: DevHost) -> None:
    """Routing keeps `%2F` inside the route value (the host's routing never decodes it), so the app
    sees `abc%2Fdef`, not a path that matches no route."""
    answer = api(host, "GET", "recordings/abc%2Fdef", headers={"x-functions-key": KEY})
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "InvalidRecordingId",
        "message": "The recording id is not a valid ACS recording id.",
        "target": "recordingId",
    }


def test_the_standalone_host_prints_a_master_key_that_runs_a_timer_by_hand(tmp_path: Path) -> None:
    """`python -m devtools.devhost` prints the master key; with it, POST /admin/functions/<name> runs
    a timer function at once, as Core Tools does."""
    from tests.devtools.devhost.probe import PROBE_APP

    log = tmp_path / "probe.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PROBE_LOG": str(log), "PROBE_TICK": "0 0 0 1 1 *"}
    env.pop("DEVHOST_MASTER_KEY", None)
    command = [
        sys.executable,
        "-m",
        "devtools.devhost",
        "--port",
        "0",
        "--settings",
        str(tmp_path / "none.json"),
    ]
    with subprocess.Popen(
        command, cwd=PROBE_APP, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            printed: list[str] = []
            while not printed or not printed[-1].startswith("Listening on"):
                line = process.stdout.readline()
                assert line, f"the host ended: {printed}"
                printed.append(line.strip())
            base = printed[-1].split()[2]
            master = next(line.split()[2] for line in printed if line.startswith("Master key:"))
            answer = requests.post(
                f"{base}/admin/functions/nightly",
                json={"input": ""},
                headers={"x-functions-key": master},
                timeout=10,
            )
            assert answer.status_code == 202
            deadline = time.monotonic() + 10
            while not log.exists() or '"nightly"' not in log.read_text(encoding="utf-8"):
                assert time.monotonic() < deadline, "the timer function did not run"
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
