"""The issue's "done when", over HTTP through the local host with the app in the Python worker: a consumer
subscribed to the local topic sees every event of a recording's life (`make demo`'s), each with its
sequence, valid against the published schema, with nothing secret in it; and `make demo` prints them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from devtools import demo
from devtools.acs_emulator import AcsEmulator
from devtools.azurite import Azurite
from devtools.event_grid import LocalTopic
from shared.events.catalogue import EventType, recording_route
from shared.settings import Settings, current_settings
from tests.support.event_receiver import EventReceiver, event_receiver
from tests.support.lifecycle import assert_valid_events, by_sequence
from tests.support.local_stack import LocalStack
from tests.support.secret_scan import find_secrets


@pytest.fixture
def events_stack(
    lifecycle_topic: LocalTopic, app_settings: Settings, azurite: Azurite, emulator: AcsEmulator
) -> Iterator[tuple[LocalStack, EventReceiver]]:
    with ExitStack() as cleanup:
        receiver = cleanup.enter_context(event_receiver())
        lifecycle_topic.subscribe(receiver.url)
        cleanup.enter_context(emulator.loopback_dns())
        stack = LocalStack(azurite, emulator, current_settings(), topic=lifecycle_topic).start()
        cleanup.callback(stack.stop)
        yield stack, receiver


def test_a_subscriber_sees_the_demo_recordings_whole_life_and_the_demo_prints_it(
    events_stack: tuple[LocalStack, EventReceiver], emulator: AcsEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stack, receiver = events_stack
    archive = demo.run(stack.client(), timeout=60)
    recording_id = archive["recordingId"]
    subject = recording_route(recording_id)
    expected = [
        EventType.RECORDING_STARTED,
        EventType.RECORDING_STOPPED,
        EventType.ARCHIVE_STARTED,
        EventType.ARCHIVE_COMPLETED,
    ]
    receiver.wait_for(lambda events: len(by_sequence(events, subject)) >= len(expected), 30)
    events = by_sequence(receiver.events, subject)
    assert [event["type"] for event in events] == [kind.value for kind in expected]
    assert [event["data"]["sequence"] for event in events] == [1, 2, 3, 4]
    assert_valid_events(events)
    completed = events[-1]["data"]
    manifest = archive["manifest"]
    assert [(f["blobName"], f["sha256"]) for f in completed["files"]] == [
        (c["blobName"], c["sha256"]) for c in manifest["chunks"]
    ]
    printed = capsys.readouterr().out
    assert all(f"{kind.value}" in printed for kind in expected)
    assert [event["id"] for event in archive["events"]] == [event["id"] for event in events]
    known = [emulator.access_key, emulator.identity.secret, stack.function_key]
    assert find_secrets(repr(events), source="events", known=known) == []
