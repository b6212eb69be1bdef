"""After all the generated traffic (conftest.py runs this module last): enough of it reached every
route, no forged URL was fetched, the stack still archives a recording, and nothing the suite
received or logged carries a credential.

Each test judges the folder's traffic as a whole, so each needs the whole folder to have run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from shared.recording_hosts import RECORDING_HOST_SUFFIXES
from tests.hostile.answers import assert_documented
from tests.hostile.callback_strategies import Tokens
from tests.hostile.capture import EVENT_GRID_ROUTE, LogCorpus, Traffic
from tests.hostile.conftest import account_key, whole_folder_selected
from tests.hostile.trap import Trap
from tests.support.local_stack import LocalStack
from tests.support.secret_scan import scan_all, telemetry_files

MIN_REQUESTS = 1000
MIN_PER_OPERATION = 50
TERMINAL = {"Completed", "Failed", "Terminated", "Canceled"}


@pytest.fixture(autouse=True)
def _whole_folder(request: pytest.FixtureRequest) -> None:
    if not whole_folder_selected(request.session):
        pytest.skip("judges the traffic of the whole tests/hostile folder; run all of it")


def settled_archives(stack: LocalStack, timeout: float = 60.0) -> list[Any]:
    """Every orchestration the traffic started, once none is still running."""
    assert stack.engine is not None
    deadline = time.monotonic() + timeout
    while True:
        records = stack.engine.store.list()
        if all(record.status in TERMINAL for record in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def chunk_urls(serialized_input: str | None) -> list[str]:
    """The recording URLs in an archive orchestration's input (`{"job": {"chunks": [...]}}`)."""
    job = json.loads(serialized_input or "{}").get("job") or {}
    return [
        str(chunk[name])
        for chunk in job.get("chunks", [])
        for name in ("contentLocation", "metadataLocation", "deleteLocation")
        if chunk.get(name)
    ]


def on_allow_list(url: str) -> bool:
    """Judged apart from shared/recording_hosts.py: https, no credentials, an ACS recording host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and not parts.username and host.endswith(RECORDING_HOST_SUFFIXES)


def test_at_least_a_thousand_generated_requests_reached_every_route(traffic: Traffic) -> None:
    counts = dict(traffic.counts)
    assert traffic.total >= MIN_REQUESTS, counts
    for operation in traffic.operations:
        assert counts.get(operation, 0) >= MIN_PER_OPERATION, (operation, counts)
    assert counts.get(EVENT_GRID_ROUTE, 0) >= MIN_PER_OPERATION, counts


def test_no_forged_recording_url_was_ever_connected_to(hostile_stack: LocalStack, trap: Trap) -> None:
    settled_archives(hostile_stack)
    assert trap.forged_deliveries > 0  # the traffic did name the trap...
    assert trap.connections == []  # ...and nothing ever connected to it


def test_every_archive_the_traffic_started_names_only_allow_listed_urls(hostile_stack: LocalStack) -> None:
    archives = settled_archives(hostile_stack)
    urls = [url for record in archives for url in chunk_urls(record.input)]
    assert urls  # well-formed events did start archives
    assert [url for url in urls if not on_allow_list(url)] == []


def test_the_stack_still_records_and_archives_a_call_afterwards(
    hostile_stack: LocalStack,
    emulator: AcsEmulator,
    traffic: Traffic,
    api: str,
    function_key: str,
    event_webhook: str,
) -> None:
    key = {"x-functions-key": function_key}
    call = emulator.create_call(participants=["8:acs:hostile_after"])
    started = traffic.session.post(
        f"{api}/recordings", json={"serverCallId": call.server_call_id}, headers=key
    )
    assert started.status_code == 201, assert_documented(started)
    recording = started.json()["recordingId"]
    emulator.set_recording_timeline(recording, duration_s=2.0)
    assert traffic.session.delete(f"{api}/recordings/{recording}", headers=key).status_code == 204
    deadline = time.monotonic() + 60
    archive: dict[str, Any] = {}
    while time.monotonic() < deadline and archive.get("runtimeStatus") not in TERMINAL:
        time.sleep(0.3)
        answer = traffic.session.get(f"{api}/recordings/{recording}/archive", headers=key)
        archive = answer.json() if answer.status_code == 200 else {}
    assert archive.get("runtimeStatus") == "Completed", archive
    assert archive["manifest"]["status"] == "Completed"


def test_no_response_or_log_line_carries_a_credential(
    traffic: Traffic,
    stack_logs: LogCorpus,
    emulator: AcsEmulator,
    azurite: Azurite,
    function_key: str,
    tokens: Tokens,
    hostile_stack: LocalStack,
    telemetry_dir: Path,
) -> None:
    logs = stack_logs.text
    exported = telemetry_files(telemetry_dir)  # what the app's worker exported: spans, metrics, records
    assert '"name": "catalog.write"' in "".join(text for _, text in exported)
    captures = [*traffic.captures, ("the stack's log", logs), *exported]
    # The scan must see what the suite saw: many answers, and the host's and app's own log lines.
    assert len(traffic.captures) >= MIN_REQUESTS
    assert '{"error":{"code":"InvalidCallbackToken"' in "".join(text for _, text in traffic.captures)
    assert "Executing 'Functions.start_recording'" in logs
    assert "Dropped event" in logs
    assert len(logs) > 100_000
    assert hostile_stack.host is not None
    master_key = hostile_stack.host.master_key  # the local host's admin key: never written anywhere
    known = [
        emulator.access_key,
        account_key(azurite.connection_string),
        function_key,
        master_key,
        *tokens.issued,
    ]
    assert len(tokens.issued) > 100
    findings = scan_all(captures, known=known)
    assert findings == [], "\n".join(str(finding) for finding in findings[:20])
