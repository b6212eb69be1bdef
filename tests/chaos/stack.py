"""The chaos stack: a restartable Azurite on disk, the ACS emulator, and the app in a real host process.

Recordings are made through the app's own HTTP API (start, stop), archived by the Event Grid
delivery the emulator sends, and verified against what the emulator serves, never against what
the app says about itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import certifi
import requests
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.acs_emulator.content_api import CONTENT_PATH, OBJECT_PATH
from devtools.azurite import AzuriteServer
from devtools.ports import free_port
from shared.archive.blob_layout import event_blob_name
from tests.chaos.host_process import HostProcess
from tests.support.secret_scan import telemetry_files

EVENT_FUNCTION = "on_acs_event"
PARTICIPANTS = [f"8:acs:chaos-resource_0000002a-0000-0000-0000-00000000000{i}" for i in (1, 2)]
FINISHED = ("Completed", "Failed", "Terminated")
# Azurite's access log: `... "PUT /devstoreaccount1/<container>/<blob>?comp=blocklist HTTP/1.1" 201 ...`
# A blob is committed by Put Block List (comp=blocklist) or by one Put Blob (no comp at all).
_PUT = re.compile(
    r'"PUT /[^/]+/(?P<container>[^/]+)/(?P<blob>[^?" ]+)(?:\?(?P<query>[^" ]*))? [^"]*" (?P<status>\d{3})'
)


@dataclass
class Captures:
    """Everything the suite saw the app emit: host logs, HTTP answers, blobs it wrote, its ACS requests."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, source: str, text: str) -> None:
        self.items.append((source, text))

    def response(self, method: str, path: str, response: requests.Response) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        self.add(f"{method} {path}", f"{response.status_code}\n{headers}\n\n{response.text}")


@dataclass
class Verdict:
    """What checking one scenario's recordings against the emulator and Azurite found."""

    verified: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    chunks: int = 0
    bytes: int = 0
    deleted_documents: set[str] = field(default_factory=set)
    unverified_deletes: int = 0


class ChaosStack:
    def __init__(self, azurite: AzuriteServer, emulator: AcsEmulator, workdir: Path) -> None:
        self.azurite, self.emulator, self.workdir = azurite, emulator, workdir
        self.key = secrets.token_urlsafe(24)
        self.port = free_port()
        self.captures = Captures()
        self.bundle = workdir / "ca-bundle.pem"
        self.bundle.write_text(
            Path(certifi.where()).read_text() + "\n" + Path(emulator.ca_pem_path).read_text()
        )
        self.http = requests.Session()
        self.http.trust_env = False
        self.container_name = ""
        self.host: HostProcess | None = None
        self.telemetry_read: set[tuple[str, str]] = set()

    # -- the host
    def start_host(self, scenario: str, **overrides: str) -> HostProcess:
        """A fresh host for a scenario: its own archive container and catalog, the shared Durable store;
        `overrides`: app settings of its own (e.g. a short ARCHIVE_LOST_AFTER_SECONDS)."""
        self.container_name = f"chaos-{scenario}-{uuid.uuid4().hex[:8]}"
        connection = self.azurite.azurite.connection_string
        settings = {
            "AzureWebJobsStorage": connection,
            "ACS_CONNECTION_STRING": self.emulator.connection_string,
            "ACS_RESOURCE_ID": self.emulator.resource_id,
            "ACS_OPENID_CONFIGURATION_URL": self.emulator.openid_configuration_url,
            "ARCHIVE_CONTAINER": self.container_name,
            "CATALOG_TABLE": f"chaos{uuid.uuid4().hex[:12]}",
            "ARCHIVE_DELETE_SOURCE": "true",
            "RECORDING_STATE_CALLBACK_URL": (
                f"http://127.0.0.1:{self.port}/api/callbacks/recording-state?code={self.key}"
            ),
            "DEVHOST_FUNCTION_KEY": self.key,
            "REQUESTS_CA_BUNDLE": str(self.bundle),
            "SSL_CERT_FILE": str(self.bundle),
            "ARCHIVE_WATCH_SCHEDULE": "0 */5 * * * *",
            "DEAD_LETTER_REPLAY_SCHEDULE": "0 */10 * * * *",
            "LIFECYCLE_EVENTS_SCHEDULE": "0 */1 * * * *",
            # the app's telemetry to files (devtools/telemetry_files.py): scanned like every capture
            "DEVHOST_TELEMETRY_DIR": str(self.telemetry_dir(scenario)),
            **overrides,
        }
        self.host = HostProcess(
            self.port, settings, self.workdir, scenario, emulator_port=self.emulator.port
        ).start()
        self.emulator.clear_event_webhooks()
        webhook = (
            f"{self.host.base_url}/runtime/webhooks/eventgrid?functionName={EVENT_FUNCTION}&code={self.key}"
        )
        self.emulator.add_event_webhook(webhook, validate=True)
        return self.host

    def telemetry_dir(self, scenario: str) -> Path:
        return self.workdir / "telemetry" / scenario

    def stop_host(self) -> None:
        if self.host is not None:
            self.host.stop()
            for log in self.host.logs:
                self.captures.add(f"host log {log.name}", log.read_text(errors="replace"))
            for source, text in telemetry_files(self.telemetry_dir(self.host.name)):
                if (self.host.name, source) not in self.telemetry_read:  # a host's later life: only new files
                    self.telemetry_read.add((self.host.name, source))
                    self.captures.add(f"{self.host.name}: {source}", text)
            self.host = None

    @property
    def container(self) -> ContainerClient:
        return ContainerClient.from_connection_string(
            self.azurite.azurite.connection_string, self.container_name
        )

    # -- the app's API
    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        assert self.host is not None
        response = self.http.request(
            method,
            f"{self.host.base_url}/api/{path}",
            headers={"x-functions-key": self.key},
            timeout=30,
            **kwargs,
        )
        self.captures.response(method, path, response)
        return response

    def record(self, count: int, duration_s: float, *, gone_chunk: int | None = None) -> list[str]:
        """Start `count` mixed WAV recordings through the app, give each `duration_s` of media, stop them.

        `gone_chunk`: that chunk's content answers 404 from the stop on, as if ACS had lost it; the
        rule is in place before the Event Grid delivery (sent `file_status_delay` after the stop).
        """
        recording_ids = []
        for _ in range(count):
            call = self.emulator.create_call(participants=PARTICIPANTS)
            started = self.call(
                "POST",
                "recordings",
                json={
                    "serverCallId": call.server_call_id,
                    "content": "audio",
                    "channel": "mixed",
                    "format": "wav",
                },
            )
            assert started.status_code == 201, started.text
            recording_ids.append(started.json()["recordingId"])
        for recording_id in recording_ids:
            wait_until(
                lambda rid=recording_id: self.emulator.recording(rid).state == "active",
                15,
                "recording active",
            )
            self.emulator.set_recording_timeline(recording_id, duration_s=duration_s)
        for recording_id in recording_ids:
            stopped = self.call("DELETE", f"recordings/{recording_id}")
            assert stopped.status_code == 204, stopped.text
            if gone_chunk is not None:
                document = self.emulator.recording_files(recording_id).chunks[gone_chunk].document_id
                self.emulator.add_fault("status", f"^/v1/objects/{document}/content/", count=None, status=404)
        return recording_ids

    def archive(self, recording_id: str) -> dict[str, Any] | None:
        try:
            response = self.call("GET", f"recordings/{recording_id}/archive")
        except requests.RequestException:
            return None  # the host is down or restarting
        return response.json() if response.status_code == 200 else None

    def wait_for_archives(self, recording_ids: Iterable[str], timeout: float) -> dict[str, dict[str, Any]]:
        finished: dict[str, dict[str, Any]] = {}
        pending = set(recording_ids)
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for recording_id in sorted(pending):
                archive = self.archive(recording_id)
                if archive is not None and archive["runtimeStatus"] in FINISHED:
                    finished[recording_id] = archive
                    pending.discard(recording_id)
            time.sleep(0.3)
        for recording_id in pending:
            finished[recording_id] = self.archive(recording_id) or {"runtimeStatus": None}
        return finished

    # -- what the emulator saw
    def downloads(self) -> list[tuple[str, str]]:
        """(path, Range) of every recording download the app made, answered or not: its requests to
        the recording host, not the hop to the regional host its 302 sends it on."""
        return [
            (r.path.split("?", 1)[0], r.headers.get("range", ""))
            for r in self.emulator.requests
            if r.method == "GET"
            and CONTENT_PATH.match(r.path.split("?", 1)[0])
            and r.headers.get("host", "").split(":", 1)[0] == self.emulator.content_host
        ]

    def served(self, recording_ids: Iterable[str]) -> tuple[int, int]:
        """(chunks, content bytes) the emulator holds for these recordings."""
        chunks = [c for rid in recording_ids for c in self.emulator.recording_files(rid).chunks]
        return len(chunks), sum(c.content_length for c in chunks)

    def deleted_documents(self) -> set[str]:
        found = (
            OBJECT_PATH.match(r.path.split("?", 1)[0]) for r in self.emulator.requests if r.method == "DELETE"
        )
        return {match["id"] for match in found if match}

    def content_blobs_committed(self, recording_ids: Iterable[str]) -> int:
        """Chunk blobs already committed for these recordings (to prove a crash came mid-archive)."""
        documents = {
            c.document_id for rid in recording_ids for c in self.emulator.recording_files(rid).chunks
        }
        names = [b.name for b in self.container.list_blobs() if b.name.endswith(".wav")]
        return sum(1 for name in names if any(doc in name for doc in documents))

    def capture_what_the_app_wrote(self, scenario: str) -> None:
        for request in self.emulator.requests:
            # Bodies are left out: a start carries the state callback URL with its function key,
            # which ACS is meant to receive (docs/api.md, Security); what is scanned is what gets logged.
            seen = {k: v for k, v in request.to_dict().items() if k != "body"}
            self.captures.add(f"{scenario}: request to ACS {request.method}", json.dumps(seen))
        for blob in self.container.list_blobs():
            if blob.name.endswith(".json"):
                self.captures.add(
                    f"{scenario}: blob {blob.name}",
                    self.container.download_blob(blob.name).readall().decode(),
                )

    # -- verification
    def verify(self, archives: dict[str, dict[str, Any]], *, expect_lost: Iterable[str] = ()) -> Verdict:
        """Every chunk archived once, SHA-256 identical to the emulator's, and only verified ones deleted;
        a recording in `expect_lost` ends Lost, keeping the chunks it could archive."""
        verdict = Verdict()
        failed = set(expect_lost)
        blobs = {b.name: b for b in self.container.list_blobs(include=["metadata"])}
        commits = self.committed_block_lists()
        for recording_id, archive in archives.items():
            if recording_id in failed:
                if archive.get("status") != "Lost":
                    verdict.problems.append(
                        f"{recording_id[:12]}: expected Lost, got {archive.get('status')}"
                    )
                continue
            problems = self._verify_recording(recording_id, archive, blobs, commits, verdict)
            verdict.problems.extend(problems)
            if not problems:
                verdict.verified.add(recording_id)
        verdict.deleted_documents = self.deleted_documents()
        owner = {c.document_id: rid for rid in archives for c in self.emulator.recording_files(rid).chunks}
        for document in verdict.deleted_documents:
            if owner.get(document) not in verdict.verified:
                verdict.unverified_deletes += 1
                verdict.problems.append(f"document {document[:12]} deleted but its recording is not verified")
        for recording_id in verdict.verified:
            kept = [
                c
                for c in self.emulator.recording_files(recording_id).chunks
                if c.document_id not in verdict.deleted_documents
            ]
            if kept:
                verdict.problems.append(
                    f"{recording_id[:12]}: verified but {len(kept)} ACS copies not deleted"
                )
        return verdict

    def committed_block_lists(self) -> Counter[tuple[str, str]]:
        """(container, blob) -> successful commits (Put Block List or Put Blob), from Azurite's own
        access log."""
        assert self.azurite.access_log is not None
        commits: Counter[tuple[str, str]] = Counter()
        for line in self.azurite.access_log.read_text(errors="replace").splitlines():
            found = _PUT.search(line)
            if found is None or not found["status"].startswith("2"):
                continue
            query = found["query"] or ""
            if "comp=blocklist" in query or "comp=" not in query:
                commits[(unquote(found["container"]), unquote(found["blob"]))] += 1
        return commits

    def _verify_recording(
        self,
        recording_id: str,
        archive: dict[str, Any],
        blobs: dict[str, Any],
        commits: Counter[tuple[str, str]],
        verdict: Verdict,
    ) -> list[str]:
        name = recording_id[:12]
        if archive.get("runtimeStatus") != "Completed" or not archive.get("manifest"):
            return [f"{name}: archive {archive.get('runtimeStatus')}"]
        manifest = archive["manifest"]
        served = {c.document_id: c for c in self.emulator.recording_files(recording_id).chunks}
        problems = []
        if sorted(c["documentId"] for c in manifest["chunks"]) != sorted(served):
            problems.append(f"{name}: manifest lists other chunks than the emulator served")
        expected = {manifest["manifestBlobName"], event_blob_name(manifest["prefix"])}
        for chunk in manifest["chunks"]:
            expected |= {chunk["blobName"], chunk["metadataBlobName"]}
            source = served.get(chunk["documentId"])
            blob = blobs.get(chunk["blobName"])
            if source is None or blob is None:
                problems.append(f"{name}: chunk {chunk['index']} missing")
                continue
            data = self.container.download_blob(chunk["blobName"]).readall()
            digests = {
                hashlib.sha256(data).hexdigest(),
                source.content_sha256(),
                chunk["sha256"],
                blob.metadata["sha256"],
            }
            if len(digests) != 1:
                problems.append(f"{name}: chunk {chunk['index']} SHA-256 differs from the emulator's")
            committed = commits.get((self.container_name, chunk["blobName"]), 0)
            if committed != 1:
                problems.append(f"{name}: chunk {chunk['index']} blob committed {committed} times")
            verdict.chunks += 1
            verdict.bytes += len(data)
        extra = {n for n in blobs if n.startswith(manifest["prefix"])} - expected
        if extra:
            problems.append(f"{name}: {len(extra)} blobs beside the manifest's (a duplicate chunk?)")
        if manifest.get("sourceDeletion") != "deleted":
            problems.append(f"{name}: manifest sourceDeletion is {manifest.get('sourceDeletion')}")
        return problems


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)
