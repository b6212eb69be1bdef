"""Access to the captured real payloads kept in the repository under tests/fixtures/reference/.

Each file names its public source in its own ``_source``/``_note`` fields; tests/fixtures/reference/README.md
lists them. A missing file is an error (never a skip): these facts are part of the test suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent / "fixtures" / "reference"
ACS_RECORDING = REFERENCE / "acs-recording"


class MissingReferenceError(FileNotFoundError):
    """A reference file the tests rely on is not in tests/fixtures/reference/."""


def reference_path(relative: str) -> Path:
    """The path of a reference file below tests/fixtures/reference/; raises if it does not exist."""
    path = REFERENCE / relative
    if not path.is_file():
        raise MissingReferenceError(
            f"reference file {path} is missing; it belongs to the repository (tests/fixtures/reference/)"
        )
    return path


def load_json(relative: str) -> Any:
    """A JSON file below tests/fixtures/reference/, e.g. ``"acs-recording/errors.real.json"``."""
    return json.loads(reference_path(relative).read_text(encoding="utf-8"))


def load(name: str) -> Any:
    """A captured payload from tests/fixtures/reference/acs-recording/."""
    return load_json(f"acs-recording/{name}")


def real_state_changed_event() -> dict[str, Any]:
    event: dict[str, Any] = load("recording-state-changed.cloudevent.real.json")["event"]
    return event


def calling_events() -> dict[str, dict[str, Any]]:
    """The docs' CallStarted and CallEnded examples (Event Grid schema), by event type."""
    events = load_json("acs-calling/calling-events.eventgrid.docs.json")["events"]
    return {str(event["eventType"]): event for event in events}
