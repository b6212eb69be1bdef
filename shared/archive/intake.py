"""A RecordingFileStatusUpdated event into an archive: validate, keep the job, start the orchestration.

One path, whoever brings the event (the Event Grid trigger, the dead-letter replay, the recovery of
a missing event), so every entrance validates the same way, stores the job a re-run needs, and
starts at most one archive per recording.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import azure.functions as func

from shared.archive.durable import DurableClient
from shared.archive.events import parse_archive_event
from shared.archive.model import ArchiveJob
from shared.archive.start import Outcome, start_archive
from shared.errors import InvalidEventError
from shared.settings import Settings

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveredEvent:
    """The fields of one delivered event, whichever schema it came in."""

    event_type: str
    subject: str
    event_id: str
    event_time: datetime | str | None
    data: object


def delivered_event(event: object) -> DeliveredEvent:
    """The worker's Event Grid converter hands an EventGridEvent for the Event Grid schema and a
    CloudEvent for CloudEvents 1.0 (azure/functions/eventgrid.py, `EventGridEventInConverter.decode`),
    though a trigger parameter may be annotated with only one of them (the worker checks it is one
    class). Both are read here."""
    if isinstance(event, func.CloudEvent):
        return DeliveredEvent(event.type, event.subject or "", event.id, event.time, event.get_json())
    if isinstance(event, func.EventGridEvent):
        return DeliveredEvent(
            event.event_type, event.subject or "", event.id, event.event_time, event.get_json()
        )
    raise TypeError(f"not an Event Grid delivery: {type(event).__name__}")


def job_of(event: DeliveredEvent) -> ArchiveJob:
    """The validated archive job of a delivered event (InvalidEventError when it has none)."""
    return parse_archive_event(
        event_type=event.event_type,
        subject=event.subject,
        event_id=event.event_id,
        event_time=event.event_time,
        data=event.data,
    )


async def accept_file_event(
    settings: Settings, client: DurableClient, event: DeliveredEvent
) -> Outcome | None:
    """Archive the recording the event names; None when the event is dropped as invalid.

    An invalid event is logged and dropped, not raised: a malformed or forged event must not be
    retried forever. A storage failure while keeping the job is raised, so the delivery is retried.
    """
    try:
        job = job_of(event)
    except InvalidEventError as error:
        _LOG.warning("Dropped event %s (%s): %s", event.event_id, event.event_type, error)
        return None
    return await start_archive(settings, client, job, at=datetime.now(UTC))
