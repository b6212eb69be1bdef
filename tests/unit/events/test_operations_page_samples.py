"""docs/operations.md's "Lifecycle events" shows a sample of every event type, and each sample is what
the schema describes (docs/lifecycle-events.schema.json), so a consumer can build on either."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shared.events.catalogue import EventType
from tests.support.lifecycle import schema_problems

OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def samples() -> list[dict[str, Any]]:
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("## Lifecycle events") : text.index("## Telemetry and alerts")]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", section, flags=re.DOTALL)]


def test_the_operations_page_has_a_sample_of_every_event_type() -> None:
    assert sorted(sample["type"] for sample in samples()) == sorted(kind.value for kind in EventType)


def test_every_sample_follows_the_schema() -> None:
    found = {sample["type"]: schema_problems(sample) for sample in samples()}
    assert {kind: problems for kind, problems in found.items() if problems} == {}


def test_the_schema_refuses_what_it_should() -> None:
    sample = next(s for s in samples() if s["type"] == EventType.ARCHIVE_COMPLETED.value)
    broken = {**sample, "data": {**sample["data"], "files": [{**sample["data"]["files"][0], "sha256": "x"}]}}
    assert schema_problems(broken)
    assert schema_problems({**sample, "type": "CallRecording.Archive.Unknown"})
    assert schema_problems({**sample, "extra": 1})
