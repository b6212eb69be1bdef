"""Lifecycle events through the local topic to a subscriber: every event of a recording's life, each
with its place in the recording's sequence, nothing secret in it, valid against the published schema;
and the archive never waits for the topic. Against the emulator, Azurite and the local topic (the
triggers in the Python worker, the orchestrations and activities in this process)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.durable_functions as df
import pytest

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.devhost.invoke import on_worker_loop
from devtools.durable import DurableEngine
from devtools.event_grid import LocalTopic
from shared.archive.retention import apply_retention
from shared.archive.watch import watch_archives
from shared.events.catalogue import EventType, recording_route
from shared.events.publisher import drain_pending, drained
from shared.settings import current_settings
from shared.worker_cache import reset_worker_caches
from tests.integration.test_archive_watch import deliver_late
from tests.support.archive import archived, record
from tests.support.event_receiver import EventReceiver, event_receiver
from tests.support.lifecycle import assert_valid_events, by_sequence
from tests.support.secret_scan import find_secrets

S = EventType


@pytest.fixture
def subscriber(lifecycle_topic: LocalTopic) -> Iterator[EventReceiver]:
    with event_receiver() as receiver:
        lifecycle_topic.subscribe(receiver.url)
        yield receiver


def life_of(receiver: EventReceiver, recording_id: str, expected: list[EventType]) -> list[dict[str, Any]]:
    """The recording's events as the subscriber has them once all `expected` came: in order, checked."""
    subject = recording_route(recording_id)
    receiver.wait_for(lambda events: len(by_sequence(events, subject)) >= len(expected), 30)
    events = by_sequence(receiver.events, subject)
    assert [event["type"] for event in events] == [kind.value for kind in expected]
    assert [event["data"]["sequence"] for event in events] == list(range(1, len(expected) + 1))
    assert {event["data"]["recordingId"] for event in events} == {recording_id}
    assert_valid_events(events)
    assert set(receiver.content_types) == {"application/cloudevents+json; charset=utf-8"}
    return events


def assert_nothing_secret(events: list[dict[str, Any]], emulator: AcsEmulator) -> None:
    known = [emulator.access_key, emulator.identity.secret]
    assert find_secrets(repr(events), source="lifecycle events", known=known) == []


def test_a_subscriber_sees_every_event_of_an_archived_recording_in_sequence(
    subscriber: EventReceiver, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    events = life_of(
        subscriber,
        recording_id,
        [S.RECORDING_STARTED, S.RECORDING_STOPPED, S.ARCHIVE_STARTED, S.ARCHIVE_COMPLETED],
    )
    assert len({event["id"] for event in events}) == 4
    started, completed = events[0]["data"], events[-1]["data"]
    assert started["call"]["kind"] == "serverCallId"
    files = emulator.recording_files(recording_id).chunks
    assert [(f["index"], f["sha256"], f["size"], f["durationMs"]) for f in completed["files"]] == [
        (c.index, c.content_sha256(), c.content_length, c.duration_ms) for c in files
    ]
    assert completed["files"][0]["downloadRoute"] == f"/api/{recording_route(recording_id)}/archive/chunks/0"
    assert_nothing_secret(events, emulator)


@pytest.fixture
def delete_source_and_retain(lifecycle_topic: LocalTopic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DELETE_SOURCE", "true")
    monkeypatch.setenv("ARCHIVE_RETENTION_DAYS", "30")
    reset_worker_caches()


def test_source_deletion_and_retention_are_told_too(
    delete_source_and_retain: None,
    subscriber: EventReceiver,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    client = df.DurableOrchestrationClient(engine.client_binding_json())
    later = datetime.now(UTC) + timedelta(days=31)
    assert on_worker_loop(apply_retention(current_settings(), client, later))["recordings"]
    events = life_of(
        subscriber,
        recording_id,
        [
            S.RECORDING_STARTED,
            S.RECORDING_STOPPED,
            S.ARCHIVE_STARTED,
            S.ARCHIVE_COMPLETED,
            S.ARCHIVE_SOURCE_DELETED,
            S.ARCHIVE_EXPIRED,
        ],
    )
    assert events[4]["data"]["chunksDeleted"] == len(emulator.recording_files(recording_id).chunks)
    assert events[5]["data"]["previousStatus"] == "Completed"
    assert_nothing_secret(events, emulator)


@pytest.fixture
def lost_at_once(lifecycle_topic: LocalTopic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DEADLINE_MINUTES", "30")  # virtual: the engine runs 1000x
    reset_worker_caches()


def test_an_archive_that_keeps_failing_tells_each_retry_and_then_that_it_is_lost(
    lost_at_once: None, subscriber: EventReceiver, host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["customStatus"]["phase"] == "lost"
    subject = recording_route(recording_id)
    subscriber.wait_for(
        lambda events: any(e["type"] == S.ARCHIVE_LOST for e in by_sequence(events, subject)), 30
    )
    events = by_sequence(subscriber.events, subject)
    types = [event["type"] for event in events]
    retries = types[3:-1]
    assert types[:3] == [S.RECORDING_STARTED, S.RECORDING_STOPPED, S.ARCHIVE_STARTED]
    assert retries
    assert set(retries) == {S.ARCHIVE_RETRYING}
    assert types[-1] == S.ARCHIVE_LOST
    assert [event["data"]["attempt"] for event in events[3:-1]] == list(range(1, len(retries) + 1))
    assert [event["data"]["sequence"] for event in events] == list(range(1, len(events) + 1))
    assert_valid_events(events)
    lost = events[-1]["data"]
    assert [chunk["index"] for chunk in lost["lostChunks"]] == [0]
    assert_nothing_secret(events, emulator)


@pytest.fixture
def no_file_event_and_overdue_at_once(
    lifecycle_topic: LocalTopic, host: DevHost, emulator: AcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.clear_event_webhooks()
    monkeypatch.setenv("ARCHIVE_OVERDUE_AFTER_MINUTES", "0")
    reset_worker_caches()


def test_an_overdue_recording_is_told_and_so_is_its_late_archive(
    no_file_event_and_overdue_at_once: None,
    subscriber: EventReceiver,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    recording_id = record(emulator, seconds=2)
    assert watch_archives(current_settings(), datetime.now(UTC) + timedelta(seconds=1)).overdue == [
        recording_id
    ]
    deliver_late(host, emulator, recording_id)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    events = life_of(
        subscriber,
        recording_id,
        [S.RECORDING_STARTED, S.RECORDING_STOPPED, S.ARCHIVE_OVERDUE, S.ARCHIVE_STARTED, S.ARCHIVE_COMPLETED],
    )
    assert events[3]["data"]["previousStatus"] == "Overdue"


def test_a_topic_that_hangs_or_fails_never_delays_an_archive_and_its_events_come_later(
    lifecycle_topic: LocalTopic,
    subscriber: EventReceiver,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    hang = 8.0
    lifecycle_topic.fail_next(1000, status=503, hang_seconds=hang)  # every publish: 8 s, then a 503
    began = time.monotonic()
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    took = time.monotonic() - began
    print(f"archive with a hanging topic: {took:.2f} s (each publish hangs {hang:.0f} s)")
    assert took < hang  # the archive's path never waited for a publish
    assert by_sequence(subscriber.events, recording_route(recording_id)) == []
    lifecycle_topic.clear_faults()
    assert drained(60)  # this process's background publish gave up its attempts (rows kept)
    assert any(attempt.status == 503 for attempt in lifecycle_topic.attempts)  # publishes did fail
    drain_pending(current_settings(), datetime.now(UTC) + timedelta(hours=1))  # the timer, later
    life_of(
        subscriber,
        recording_id,
        [S.RECORDING_STARTED, S.RECORDING_STOPPED, S.ARCHIVE_STARTED, S.ARCHIVE_COMPLETED],
    )
