"""The archive stack for integration tests: a Durable engine, the local host subscribed to the emulator's
Event Grid webhook, and helpers that record a call and wait for its archive."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from devtools.durable import DurableEngine
from shared.recording_ids import recording_key
from tests.support.api import eventually, on_recording, start
from tests.support.functions import json_body

REPO = Path(__file__).resolve().parents[2]
EVENT_FUNCTION = "on_acs_event"
PARTICIPANTS = [
    f"8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_0000002a-0000-0000-0000-00000000000{i}" for i in range(4)
]
WAV_HEADER = 44
SECONDS_4CH = 16000 * 2 * 4  # bytes per second of 16 kHz 16-bit 4-channel PCM


def record(emulator: AcsEmulator, *, seconds: float, body: dict[str, Any] | None = None) -> str:
    """Start a recording through our API, let it become active, stop it with `seconds` of media."""
    call = emulator.create_call(participants=PARTICIPANTS)
    started = start({"serverCallId": call.server_call_id, **(body or {})})
    assert started.status_code == 201, started.get_body()
    recording_id: str = json_body(started)["recordingId"]
    eventually(lambda: emulator.recording(recording_id).state == "active")
    emulator.set_recording_timeline(recording_id, duration_s=seconds)
    assert on_recording("stop_recording", "DELETE", recording_id).status_code == 204
    return recording_id


def archived(engine: DurableEngine, recording_id: str, timeout: float = 30) -> dict[str, Any]:
    instance = f"archive-{recording_key(recording_id)}"
    eventually(lambda: engine.get_status(instance) is not None, timeout)
    return engine.wait_for(instance, timeout=timeout)


def archived_as_served(
    container: ContainerClient, emulator: AcsEmulator, recording_id: str, status: dict[str, Any]
) -> dict[str, Any]:
    """The manifest of a completed run (`status`), checked against the emulator, not against what
    the app says: every chunk's archived blob has the SHA-256 of the bytes the emulator serves."""
    manifest: dict[str, Any] = json.loads(container.download_blob(status["output"]["manifest"]).readall())
    files = emulator.recording_files(recording_id)
    assert [c["sha256"] for c in manifest["chunks"]] == [c.content_sha256() for c in files.chunks]
    for entry in manifest["chunks"]:
        data = container.download_blob(entry["blobName"]).readall()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    return manifest
