"""Fixtures for the ACS emulator tests: one emulator per session, SDK client, raw signed requests."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.communication.callautomation import CallAutomationClient

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.hmac_auth import sign_headers
from tests.reference import ACS_RECORDING, REFERENCE, load

REPO_ROOT = Path(__file__).resolve().parents[3]
REFERENCE_DIR = REFERENCE  # tests/fixtures/reference, inside the repository
RECORDING_REFERENCE = ACS_RECORDING

ALICE = "8:acs:e333a5b5-c1e4-4984-b752-447bf92d10b7_0000000f-5a35-fb16-02c3-593a0d00053c"
BOB = "8:acs:e333a5b5-c1e4-4984-b752-447bf92d10b7_0000000f-5a36-3141-e3c7-593a0d00fc67"
API = "api-version=2026-03-12"


def load_reference(name: str) -> Any:
    """A captured payload from tests/fixtures/reference/acs-recording; a missing file is an error."""
    return load(name)


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture(scope="session")
def emulator() -> Iterator[AcsEmulator]:
    with AcsEmulator(
        activation_delay=0.05,
        callback_timeout=2.0,
        callback_retry_delays=(0.05, 0.1),
        file_status_delay=0.02,
        event_retry_base=0.02,
        event_max_attempts=4,
    ) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _reset_content_knobs(emulator: AcsEmulator) -> Iterator[None]:
    """Faults, webhooks and the chunk size are emulator-wide: never let one test leak them."""
    max_chunk_bytes, regional = emulator.max_chunk_bytes, emulator.regional_content_host
    yield
    emulator.regional_content_host, emulator.ignore_range = regional, False
    emulator.clear_faults()
    emulator.clear_event_webhooks()
    emulator.flush_held_events()
    emulator.max_chunk_bytes = max_chunk_bytes


@pytest.fixture
def client(emulator: AcsEmulator) -> CallAutomationClient:
    return CallAutomationClient.from_connection_string(
        emulator.connection_string, connection_verify=emulator.ca_pem_path
    )


@pytest.fixture
def call(emulator: AcsEmulator) -> Call:
    return emulator.create_call(participants=[ALICE, BOB])


@pytest.fixture
def http(emulator: AcsEmulator) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override session.verify
    session.verify = emulator.ca_pem_path
    yield session
    session.close()


class SignedClient:
    """Raw HTTP calls signed exactly like the SDK, for cases the SDK cannot produce."""

    def __init__(self, emulator: AcsEmulator, session: requests.Session) -> None:
        self.emulator = emulator
        self.session = session
        self.host = emulator.endpoint.removeprefix("https://")

    def send(
        self,
        method: str,
        target: str,
        body: bytes | dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        access_key: str | None = None,
        sign: bool = True,
    ) -> requests.Response:
        raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
        all_headers = {"Content-Type": "application/json"} if raw else {}
        if sign:
            all_headers.update(
                sign_headers(
                    method=method,
                    path_and_query=target,
                    host=self.host,
                    body=raw,
                    access_key=access_key or self.emulator.access_key,
                )
            )
        all_headers.update(headers or {})
        return self.session.request(method, self.emulator.endpoint + target, data=raw, headers=all_headers)


@pytest.fixture
def signed(emulator: AcsEmulator, http: requests.Session) -> SignedClient:
    return SignedClient(emulator, http)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CallbackReceiver:
    """A loopback HTTPS webhook with a certificate from the emulator CA."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    answer_validation: bool = True  # echo Event Grid validation codes / allow CloudEvents origin

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        assert wait_until(lambda: len(self.received) >= count, timeout), f"got {len(self.received)} callbacks"
        return self.received


@pytest.fixture
def callback_receiver(emulator: AcsEmulator) -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = b""
            with lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            if self.headers.get("aeg-event-type") == "SubscriptionValidation" and receiver.answer_validation:
                code = json.loads(body)[0]["data"]["validationCode"]
                answer = json.dumps({"validationResponse": code}).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_OPTIONS(self) -> None:
            with lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), b""))
            self.send_response(200)
            origin = self.headers.get("WebHook-Request-Origin", "")
            if receiver.answer_validation:
                self.send_header("WebHook-Allowed-Origin", origin)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    emulator.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"https://127.0.0.1:{server.server_address[1]}/api/callbacks"
    yield receiver
    server.shutdown()
    server.server_close()


CAROL = "8:acs:e333a5b5-c1e4-4984-b752-447bf92d10b7_0000000f-5a37-0000-0000-593a0d00aaaa"
DAVE = "8:acs:e333a5b5-c1e4-4984-b752-447bf92d10b7_0000000f-5a38-0000-0000-593a0d00bbbb"


def start_recording(client: CallAutomationClient, call: Call, **options: Any) -> str:
    """Start through the SDK; returns the recording id."""
    started = client.start_recording(server_call_id=call.server_call_id, **options)
    assert started.recording_id is not None
    return str(started.recording_id)


@pytest.fixture
def dns(emulator: AcsEmulator) -> Iterator[None]:
    """``*.asm.skype.com`` resolves to the emulator while the test runs."""
    with emulator.loopback_dns():
        yield


def content_get(
    emulator: AcsEmulator,
    session: requests.Session,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    access_key: str | None = None,
    stream: bool = False,
    allow_redirects: bool = True,
) -> requests.Response:
    """A content request signed exactly like the SDK downloader (resource host, ``x-ms-host``)."""
    target = url.split("://", 1)[1]
    target = target[target.index("/") :]
    all_headers = sign_headers(
        method=method,
        path_and_query=target,
        host=emulator.endpoint.removeprefix("https://"),
        body=b"",
        access_key=access_key or emulator.access_key,
    )
    all_headers["x-ms-host"] = emulator.host
    all_headers.update(headers or {})
    return session.request(method, url, headers=all_headers, stream=stream, allow_redirects=allow_redirects)
