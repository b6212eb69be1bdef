"""The servers benchmarks talk to, each in its own process: the ACS emulator and Azurite.

The emulator runs as `python -m devtools.acs_emulator` (its memory is not the benchmarked process's) and
is driven over its loopback-only admin API; Azurite is the npm one, in memory (`devtools.azurite`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests

REPO = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024
# 4 unmixed participants -> 4 channels of 16 kHz 16-bit PCM: 128,000 bytes per second of media.
PARTICIPANTS = 4
WAV_BYTES_PER_SECOND = 16_000 * 2 * PARTICIPANTS
WAV_HEADER_BYTES = 44
TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class Emulator:
    connection_string: str
    endpoint: str
    admin_url: str
    ca_pem: Path
    bundle: Path  # public CAs + the emulator CA, for REQUESTS_CA_BUNDLE / SSL_CERT_FILE
    access_key: str

    @property
    def trust_env(self) -> dict[str, str]:
        return {name: str(self.bundle) for name in TRUST_VARIABLES}

    @property
    def port(self) -> int:
        """Where the emulator listens: both planes, and (via loopback_dns) the recording hosts' 443."""
        return urlsplit(self.endpoint).port or 443


@contextlib.contextmanager
def running_emulator(*, activation_delay: float = 0.01) -> Iterator[Emulator]:
    """`python -m devtools.acs_emulator` on a free loopback port, stopped (SIGTERM, then kill) on exit."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-emulator-"))
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.acs_emulator", "--activation-delay", str(activation_delay)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        values: dict[str, str] = {}
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        while "ACS_ADMIN_URL" not in values:
            line = process.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise RuntimeError("the ACS emulator did not start")
            key, sep, value = line.strip().partition("=")
            if sep and key.isupper():
                values[key] = value
        ca_pem = Path(values["ACS_CA_PEM"])
        bundle = workdir / "ca-bundle.pem"
        bundle.write_text(Path(certifi.where()).read_text() + "\n" + ca_pem.read_text())
        key = values["ACS_CONNECTION_STRING"].split("accesskey=", 1)[1]
        emulator = Emulator(
            connection_string=values["ACS_CONNECTION_STRING"],
            endpoint=values["ACS_ENDPOINT"],
            admin_url=values["ACS_ADMIN_URL"],
            ca_pem=ca_pem,
            bundle=bundle,
            access_key=key,
        )
        with trusting(emulator):
            yield emulator
    finally:
        _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """These variables set in this process while the block runs, then put back as they were."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def trusting(emulator: Emulator) -> Iterator[None]:
    """This process (requests, azure-core, ssl) trusts public CAs + the emulator CA while it runs."""
    with environment(emulator.trust_env):
        yield


def _stop(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


class Admin:
    """The emulator's admin API (loopback only, no auth) plus the SDK for what only the API does."""

    def __init__(self, emulator: Emulator) -> None:
        from azure.communication.callautomation import CallAutomationClient

        self.emulator = emulator
        self.session = requests.Session()
        self.acs = CallAutomationClient.from_connection_string(
            emulator.connection_string, connection_verify=str(emulator.bundle)
        )

    def close(self) -> None:
        self.session.close()
        self.acs.close()

    def call(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.session.request(method, f"{self.emulator.admin_url}{path}", timeout=120, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"admin {name}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def create_call(self, participants: int = PARTICIPANTS) -> str:
        suffix = time.monotonic_ns()
        body = {"participants": [f"8:acs:bench_{suffix}_{i}" for i in range(participants)]}
        return str(self.call("create call", "POST", "/calls", json=body)["serverCallId"])

    def wait_active(self, recording_id: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.call("recording", "GET", f"/recordings/{recording_id}")["state"] != "active":
            if time.monotonic() > deadline:
                raise TimeoutError(f"recording {recording_id} never became active")
            time.sleep(0.005)

    def recording(self, media_bytes: int, chunks: int) -> list[dict[str, Any]]:
        """A stopped unmixed WAV recording of `media_bytes` of samples (a multiple of 8) in `chunks`
        chunks of equal media; returns its chunks with `contentSha256` (hashed by the emulator)."""
        if media_bytes % (2 * PARTICIPANTS * chunks):
            raise ValueError("media_bytes must split into whole frames per chunk")
        server_call_id = self.create_call()
        started = self.acs.start_recording(
            server_call_id=server_call_id,
            recording_channel_type="unmixed",
            recording_content_type="audio",
            recording_format_type="wav",
        )
        recording_id = str(started.recording_id)
        self.wait_active(recording_id)
        max_chunk = media_bytes // chunks + WAV_HEADER_BYTES
        self.call("settings", "PATCH", "/settings", json={"maxChunkBytes": max(max_chunk, 4096)})
        try:
            self.call(
                "stop",
                "POST",
                f"/recordings/{recording_id}/stop",
                json={"durationS": media_bytes / WAV_BYTES_PER_SECOND},
            )
        finally:
            self.call("settings", "PATCH", "/settings", json={"maxChunkBytes": 2 * 1024 * MiB})
        files = self.call("files", "GET", f"/recordings/{recording_id}/files", params={"sha256": "true"})
        found: list[dict[str, Any]] = files["chunks"]
        if len(found) != chunks:
            raise RuntimeError(f"asked for {chunks} chunks, the emulator made {len(found)}")
        return found


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
