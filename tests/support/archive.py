"""The archive stack for integration tests: a Durable engine, the local host subscribed to the emulator's
Event Grid webhook, and helpers that record a call and wait for its archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
