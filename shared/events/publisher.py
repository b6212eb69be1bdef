"""Publishing the outbox (shared.events.outbox) to the Event Grid topic, at least once.

Right after the catalog commits a change with its events, the recording's partition is handed to one
background thread per worker (`publish_soon`), which sends what is due and deletes each row the topic
accepted: the writer (an activity, a route, a timer) never waits on Event Grid. What that thread
could not send (the topic down, the worker recycled) stays in the table: each failed row waits out
its backoff (shared.events.outbox.backoff) and the `publish_lifecycle_events` timer sends it later,
for as long as it takes. A send that reached the topic but whose answer was lost is sent again with
the same id: consumers see a duplicate, never a gap.

Without `EVENT_GRID_TOPIC_ENDPOINT` nothing is written to the outbox and nothing here runs.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

from shared import telemetry
from shared.clients import event_grid_publisher, table_client
from shared.errors import short_error
from shared.events.catalogue import encoded_size, event_source
from shared.events.outbox import (
    HINT_PARTITION,
    ROW_END,
    ROW_PREFIX,
    STALE_HINT,
    Outbox,
    backoff,
    event_of,
    is_due,
)
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.data.tables import TableClient

_LOG = logging.getLogger(__name__)
# Per send: one attempt, and a topic that hangs holds the thread for at most these timeouts; the
# outbox is the retry (each row's backoff, the timer).
SEND_OPTIONS: Final[dict[str, Any]] = {"retry_total": 0, "connection_timeout": 10, "read_timeout": 20}
# Event Grid takes a batch of at most 1 MB and 5,000 events (docs: post to custom topic, "the array can
# have a total size of up to 1 MB"; quotas and limits: "Number of incoming events per batch: 5,000").
MAX_BATCH_BYTES: Final = 1_000_000
MAX_BATCH_EVENTS: Final = 5_000
HINTS_PER_RUN: Final = 200


@dataclass
class DrainReport:
    """What one drain did: events the topic accepted, events that failed (they wait and are retried),
    and events still waiting out an earlier failure's backoff."""

    published: int = 0
    failed: int = 0
    waiting: int = 0

    def add(self, other: DrainReport) -> None:
        self.published += other.published
        self.failed += other.failed
        self.waiting += other.waiting


def outbox_for(settings: Settings) -> Outbox | None:
    """The catalog's outbox when a topic is configured (events carry this app's `source`), else None:
    then nothing is kept and nothing published."""
    if settings.event_topic is None:
        return None
    return Outbox(event_source(settings.event_host_name), lambda partition: publish_soon(settings, partition))


def drain_partition(settings: Settings, partition: str, now: datetime) -> DrainReport:
    """Send one recording's due events, in sequence order, and delete each one the topic accepted."""
    report = DrainReport()
    topic = settings.event_topic
    if topic is None:
        return report
    table = _table(settings)
    rows = list(
        table.query_entities(
            "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
            parameters={"pk": partition, "low": ROW_PREFIX, "high": ROW_END},
        )
    )
    due = [row for row in rows if is_due(row, now)]
    report.waiting = len(rows) - len(due)
    for batch in _batches(due):
        events = [event_of(row) for row in batch]
        try:
            _send(settings, events)
        except Exception as error:  # whatever the topic or the network did: the rows wait and retry
            reason = short_error(f"{type(error).__name__}: {error}")
            for row in batch:
                _postpone(table, row, reason, now)
            report.failed += len(batch)
            _LOG.warning(
                "Lifecycle events of %s not published (%d, retried later): %s",
                events[0]["data"]["recordingId"],
                len(batch),
                reason,
            )
            continue
        for row in batch:
            with contextlib.suppress(ResourceNotFoundError):  # another drain sent it too
                table.delete_entity(partition, row["RowKey"])
        report.published += len(batch)
    telemetry.record_events_published(report.published, report.failed)
    return report


def drain_pending(settings: Settings, now: datetime) -> DrainReport:
    """The timer: every recording whose events may be left (their hints), each drained; a hint with
    nothing behind it any more is dropped once it is old enough (a writer may be just about to commit)."""
    report = DrainReport()
    if settings.event_topic is None:
        return report
    table = _table(settings)
    hints = table.query_entities(
        "PartitionKey eq @pk", parameters={"pk": HINT_PARTITION}, results_per_page=HINTS_PER_RUN
    )
    for count, hint in enumerate(hints):
        if count == HINTS_PER_RUN:
            break
        drained = drain_partition(settings, str(hint["RowKey"]), now)
        report.add(drained)
        if drained.failed or drained.waiting:
            continue
        written = datetime.fromisoformat(str(hint.get("at") or now.isoformat()))
        if now - written >= STALE_HINT and not _has_rows(table, str(hint["RowKey"])):
            from azure.core import MatchConditions

            with contextlib.suppress(ResourceNotFoundError, ResourceModifiedError):  # a new write: kept
                table.delete_entity(
                    HINT_PARTITION,
                    hint["RowKey"],
                    etag=hint.metadata["etag"],
                    match_condition=MatchConditions.IfNotModified,
                )
    if report.published or report.failed:
        _LOG.info(
            "Lifecycle events: %d published, %d failed (retried later), %d waiting",
            report.published,
            report.failed,
            report.waiting,
        )
    return report


def _send(settings: Settings, events: list[dict[str, Any]]) -> None:
    from azure.core.messaging import CloudEvent

    assert settings.event_topic is not None
    recording_id = events[0]["data"]["recordingId"]
    with telemetry.span("lifecycle_events.publish", recording_id=recording_id, events=len(events)):
        event_grid_publisher(settings.event_topic).send(
            [CloudEvent.from_dict(event) for event in events], **SEND_OPTIONS
        )


def _batches(rows: list[Any]) -> Iterator[list[Any]]:
    """Rows in order, in batches within Event Grid's batch limits."""
    batch: list[Any] = []
    size = 2  # the array's brackets
    for row in rows:
        row_size = encoded_size(event_of(row)) + 1
        if batch and (size + row_size > MAX_BATCH_BYTES or len(batch) == MAX_BATCH_EVENTS):
            yield batch
            batch, size = [], 2
        batch.append(row)
        size += row_size
    if batch:
        yield batch


def _postpone(table: TableClient, row: Any, reason: str, now: datetime) -> None:
    """Count the failed attempt and set when the next may be made (best-effort: the row stays either way)."""
    from azure.core import MatchConditions
    from azure.data.tables import UpdateMode

    attempts = int(row.get("attempts") or 0) + 1
    with contextlib.suppress(Exception):
        table.update_entity(
            {
                "PartitionKey": row["PartitionKey"],
                "RowKey": row["RowKey"],
                "attempts": attempts,
                "nextAttemptAt": (now + backoff(attempts)).isoformat(),
                "lastError": reason,
            },
            mode=UpdateMode.MERGE,
            etag=row.metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )


def _has_rows(table: TableClient, partition: str) -> bool:
    rows = table.query_entities(
        "PartitionKey eq @pk and RowKey ge @low and RowKey lt @high",
        parameters={"pk": partition, "low": ROW_PREFIX, "high": ROW_END},
        select=["RowKey"],
        results_per_page=1,
    )
    return next(iter(rows), None) is not None


def _table(settings: Settings) -> TableClient:
    return table_client(settings.storage, settings.catalog_table)


class _Drainer:
    """One thread per worker that drains the partitions handed to it, one at a time, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Settings, str]] = queue.Queue()
        self._lock = threading.Lock()
        self._waiting: set[tuple[Settings, str]] = set()  # queued, not yet taken: queued once
        self._thread: threading.Thread | None = None

    def submit(self, settings: Settings, partition: str) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lifecycle-events", daemon=True)
                self._thread.start()
            if (settings, partition) in self._waiting:
                return
            self._waiting.add((settings, partition))
        self._queue.put((settings, partition))

    def idle(self, timeout: float) -> bool:
        """Whether everything handed over so far was drained (tests and benchmarks wait on this)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        while True:
            settings, partition = self._queue.get()
            with self._lock:
                self._waiting.discard((settings, partition))
            try:
                drain_partition(settings, partition, datetime.now(UTC))
            except Exception as error:  # storage down: the rows stay, the timer sends them
                _LOG.warning("Lifecycle events not drained now (the timer retries): %s", type(error).__name__)
            finally:
                self._queue.task_done()


_DRAINER = _Drainer()


def publish_soon(settings: Settings, partition: str) -> None:
    """Hand a recording's partition to the background drain; returns at once."""
    if settings.event_topic is not None:
        _DRAINER.submit(settings, partition)


def drained(timeout: float = 10.0) -> bool:
    """Whether the background drain has caught up (for tests and benchmarks)."""
    return _DRAINER.idle(timeout)
