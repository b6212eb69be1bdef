"""The one dispatch of every delivered event by type: known types to their handler, others logged and
ignored, a malformed calling event logged and dropped; never a raise that Event Grid would retry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from shared.archive import acs_events
from shared.archive.intake import DeliveredEvent
from shared.recording.call_events import CALL_ENDED, CALL_STARTED


class Untouchable:
    """Settings or a Durable client that must not be used."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"{name} was used")


def dispatch(event_type: object, data: object) -> None:
    event = DeliveredEvent(event_type, "call/x", "e-1", "2026-12-06T12:00:00Z", data)  # type: ignore[arg-type]
    asyncio.run(acs_events.dispatch_event(Untouchable(), Untouchable(), event))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event_type",
    ["Microsoft.Communication.CallParticipantAdded", "Microsoft.Communication.IncomingCall", "", "x" * 500],
)
def test_an_event_of_another_type_is_logged_and_ignored(
    event_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        dispatch(event_type, {"serverCallId": "x"})
    (line,) = [r.getMessage() for r in caplog.records if r.name == acs_events.__name__]
    assert "Ignored event e-1" in line
    assert len(line) < 300


@pytest.mark.parametrize("event_type", [CALL_STARTED, CALL_ENDED])
def test_a_malformed_calling_event_is_logged_and_dropped(
    event_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        dispatch(event_type, {"serverCallId": ["not", "an", "id"]})
    assert any("Dropped event e-1" in r.getMessage() for r in caplog.records)


def test_the_handled_types_are_the_file_event_and_the_calls_start_and_end() -> None:
    assert acs_events.HANDLED_EVENT_TYPES == (
        "Microsoft.Communication.RecordingFileStatusUpdated",
        CALL_STARTED,
        CALL_ENDED,
    )
