"""Every event the Event Grid subscription delivers, sent on by its type: the one place that knows them.

The subscription (infra/eventgrid-subscription.bicep) delivers exactly HANDLED_EVENT_TYPES to one
function (blueprints/events.py, `on_acs_event`); a test holds the two lists equal.

- `RecordingFileStatusUpdated`: the recording's files are ready; archive them (shared.archive.intake).
- `CallStarted`: the recording policy decides, and records the call once (shared.recording.auto_record).
- `CallEnded`: the call is over. Every recording of it stopped with it at ACS (a recording the policy
  started needs no stop call), so each becomes AwaitingFiles (shared.archive.records, feeding the
  overdue watch), and the policy stops trying to start one.

Event Grid delivers at least once, concurrently and out of order; each handler is idempotent. An
event of another type is logged and ignored, and a malformed event of a known type is logged and
dropped: raising would make Event Grid deliver it again and again into the dead-letter container.
A failure of our own storage is raised, so that the delivery is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from shared.archive.durable import DurableClient
from shared.archive.events import EVENT_TYPE as FILE_STATUS_UPDATED
from shared.archive.intake import DeliveredEvent, accept_file_event
from shared.archive.records import expect_files
from shared.errors import InvalidEventError
from shared.recording.auto_record import on_call_started
from shared.recording.call_events import CALL_ENDED, CALL_STARTED, CallEvent, parse_call_event
from shared.recording.call_records import mark_call_ended
from shared.recording.catalog_table import recording_ids_of_call
from shared.settings import Settings

_LOG = logging.getLogger(__name__)

Handler = Callable[[Settings, DurableClient, DeliveredEvent], Awaitable[object]]


async def dispatch_event(settings: Settings, client: DurableClient, event: DeliveredEvent) -> None:
    """Hand one delivered event to the handler of its type; ignore (and log) any other type."""
    # The converter hands over whatever JSON the delivery held: a type may be no string at all.
    handler = HANDLERS.get(event.event_type) if isinstance(event.event_type, str) else None
    if handler is None:
        _LOG.info(
            "Ignored event %.100s of type %.100r: not one this app handles", event.event_id, event.event_type
        )
        return
    await handler(settings, client, event)


async def _file_status_updated(settings: Settings, client: DurableClient, event: DeliveredEvent) -> object:
    return await accept_file_event(settings, client, event)


def _call_event(event: DeliveredEvent) -> CallEvent | None:
    try:
        return parse_call_event(
            event_type=event.event_type, event_id=event.event_id, event_time=event.event_time, data=event.data
        )
    except InvalidEventError as error:
        _LOG.warning("Dropped event %s (%s): %s", event.event_id, event.event_type, error)
        return None


async def _call_started(settings: Settings, client: DurableClient, event: DeliveredEvent) -> object:
    call = _call_event(event)
    if call is not None:
        await on_call_started(settings, client, call, now=datetime.now(UTC))
    return None


async def _call_ended(settings: Settings, client: DurableClient, event: DeliveredEvent) -> object:
    call = _call_event(event)
    if call is None:
        return None
    return await asyncio.to_thread(call_ended, settings, call)


def call_ended(settings: Settings, call: CallEvent) -> list[str]:
    """The call is over: no more starts for it, and each of its recordings awaits its files (a
    recording that moved on, e.g. already archiving, stays as it is). Answers the recordings moved."""
    mark_call_ended(settings, call)
    moved = [
        recording_id
        for recording_id in recording_ids_of_call(settings, call.server_call_id)
        if expect_files(settings, recording_id, call.time)
    ]
    _LOG.info("Call %s ended; %d recording(s) now await their files", call.server_call_id, len(moved))
    return moved


HANDLERS: Final[Mapping[str, Handler]] = {
    FILE_STATUS_UPDATED: _file_status_updated,
    CALL_STARTED: _call_started,
    CALL_ENDED: _call_ended,
}
HANDLED_EVENT_TYPES: Final = tuple(HANDLERS)
