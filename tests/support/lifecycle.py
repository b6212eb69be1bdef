"""The lifecycle events as a consumer reads them: ordered by their sequence, checked against the
published JSON Schema (docs/lifecycle-events.schema.json), duplicates dropped by id."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "lifecycle-events.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    checker = FormatChecker()
    # a format whose checker is not installed passes anything: fail here instead of checking nothing
    assert {"date-time", "uuid"} <= set(checker.checkers), "pip install -r requirements-dev.txt"
    return Draft202012Validator(schema, format_checker=checker)


def schema_problems(event: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator().iter_errors(event)
    ]


def assert_valid_events(events: list[dict[str, Any]]) -> None:
    problems = {event.get("id", "?"): schema_problems(event) for event in events}
    assert {key: found for key, found in problems.items() if found} == {}


def by_sequence(events: list[dict[str, Any]], subject: str) -> list[dict[str, Any]]:
    """One recording's events, each id once, in sequence order: what a consumer does with them."""
    unique = {event["id"]: event for event in events if event.get("subject") == subject}
    return sorted(unique.values(), key=lambda event: int(event["data"]["sequence"]))
