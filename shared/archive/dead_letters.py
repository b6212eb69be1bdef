"""Event Grid's dead-letter blobs, read (pure): the RecordingFileStatusUpdated events a blob holds, and
what else is in it (which keeps the blob from counting as replayed).

The format, from Event Grid's documentation:

- "Set dead-letter location and retry policy" (https://learn.microsoft.com/azure/event-grid/manage-event-delivery,
  section "Set dead-letter location"): Event Grid creates the blobs, named after the subscription in
  upper case, then the UTC date and hour, not zero-padded:
  `<container>/MY-BLOB-SUBSCRIPTION/2019/8/8/5/<guid>.json`; "The dead letter blobs created will
  contain one or more events in an array".
- "Event Grid message delivery and retry" (https://learn.microsoft.com/azure/event-grid/delivery-and-retry,
  section "Delivery event formats"; MicrosoftDocs/azure-docs articles/event-grid/delivery-and-retry.md
  at commit 00e046fdd31b252b88de7f61be9023afc3dd5b31): a dead-lettered event is the event in the
  subscription's delivery schema with the dead-letter properties beside its own fields: Event Grid
  schema `deadLetterReason`, `deliveryAttempts`, `lastDeliveryOutcome`, `publishTime`,
  `lastDeliveryAttemptTime`; CloudEvents 1.0 the same names in lower case. Our subscription delivers
  the Event Grid schema (infra/eventgrid-subscription.bicep); both are read.

UNVERIFIED (no dead-letter blob of an ACS system topic was captured; the docs' examples are Storage
and custom events): that ours look exactly like them; the encoding (read as UTF-8, a BOM tolerated);
whether Event Grid ever writes to a blob again after creating it (the replay deletes a blob only if
its ETag is still the one it read, so a rewritten blob is simply read again on the next run).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final

from shared.archive.events import EVENT_TYPE
from shared.archive.intake import DeliveredEvent

# Where the replay moves a blob once it has read it, in the same container. Event Grid names its
# blobs after the subscription in upper case, so these lower-case prefixes never meet its own.
REPLAYED: Final = "replayed/"  # every event in it was handed to the intake
NOT_REPLAYED: Final = "not-replayed/"  # undecodable, or holding something not replayed: kept for a person
OURS: Final = frozenset({REPLAYED, NOT_REPLAYED})
MAX_BLOB_BYTES: Final = 16 * 1024 * 1024  # a larger blob is kept unread (events are at most 1 MB each)
_SAFE_TYPE: Final = re.compile(r"^[A-Za-z0-9.]{1,128}$")


@dataclass(frozen=True)
class DeadLetter:
    """What one dead-letter blob holds: the file events to replay, and why anything is not replayed."""

    events: tuple[DeliveredEvent, ...]
    problems: tuple[str, ...]


def read_dead_letter(body: bytes) -> DeadLetter:
    """The blob's events: a JSON array of Event Grid or CloudEvents events (a single object is
    taken as an array of one). Anything else in it is a problem, named, never raised."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return DeadLetter((), ("not UTF-8 JSON",))
    items = document if isinstance(document, list) else [document]
    events: list[DeliveredEvent] = []
    problems: list[str] = []
    for position, item in enumerate(items):
        event = _event(item)
        if event is None:
            problems.append(f"item {position} is not an Event Grid or CloudEvents event")
        elif event.event_type != EVENT_TYPE:
            shown = event.event_type if _SAFE_TYPE.fullmatch(event.event_type) else "another type"
            problems.append(f"item {position} is a {shown} event, not {EVENT_TYPE}")
        else:
            events.append(event)
    if not items:
        problems.append("an empty array")
    return DeadLetter(tuple(events), tuple(problems))


def moved_name(destination: str, name: str) -> str:
    """Where a blob read by the replay goes (its name kept under the destination's prefix)."""
    return destination + name


def _event(item: object) -> DeliveredEvent | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("eventType"), str):  # Event Grid schema
        type_field, time_field = "eventType", "eventTime"
    elif isinstance(item.get("type"), str) and isinstance(item.get("source"), str):  # CloudEvents 1.0
        type_field, time_field = "type", "time"
    else:
        return None
    return DeliveredEvent(
        event_type=item[type_field],
        subject=_text(item.get("subject")),
        event_id=_text(item.get("id")),
        event_time=_text(item.get(time_field)) or None,
        data=item.get("data"),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
