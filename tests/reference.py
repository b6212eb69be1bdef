"""Access to the captured real payloads in ../shared/reference/ (beside the repository)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
ACS_RECORDING = REFERENCE / "acs-recording"


def load(name: str) -> Any:
    return json.loads((ACS_RECORDING / name).read_text(encoding="utf-8"))


def real_state_changed_event() -> dict[str, Any]:
    event: dict[str, Any] = load("recording-state-changed.cloudevent.real.json")["event"]
    return event
