"""Event Grid webhook deliveries -> `func.EventGridEvent`s, as the Functions host converts them.

Event Grid posts a JSON array (Event Grid schema) with `aeg-event-type: Notification`, or runs a
validation handshake (`SubscriptionValidation`: answer with the validation code). CloudEvents
1.0 deliveries (one event or a batch) are converted the same way the host does.
"""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

# Event Grid's limit for one delivery: 1 MB per event and per array of Event Grid schema events,
# from the Event Grid quotas and limits documentation (not verified against the service here).
# Larger deliveries answer 413 before their body is read; the host's HTTP limit (100 MiB) is not it.
MAX_DELIVERY_BYTES = 1024 * 1024
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"


class EventGridRequestError(ValueError):
    """The delivery is not something Event Grid would send."""


def validation_response(events: list[dict[str, Any]]) -> dict[str, str] | None:
    """The handshake answer when this delivery is a subscription validation, else None."""
    for event in events:
        if event.get("eventType") == VALIDATION_EVENT:
            code = (event.get("data") or {}).get("validationCode")
            if not isinstance(code, str):
                raise EventGridRequestError("validation event without validationCode")
            return {"validationResponse": code}
    return None


def parse_delivery(body: bytes) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body)
    except RecursionError:
        raise EventGridRequestError("body nests JSON too deeply") from None
    except ValueError:
        raise EventGridRequestError("body is not JSON") from None
    events = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(event, dict) for event in events):
        raise EventGridRequestError("events must be JSON objects")
    return events


def to_trigger_value(event: dict[str, Any]) -> func.EventGridEvent | func.CloudEvent:
    """One delivered event -> what the function receives, through the SDK's own converter (the
    worker's): an EventGridEvent for the Event Grid schema, a CloudEvent for CloudEvents 1.0."""
    from azure.functions.eventgrid import EventGridEventInConverter
    from azure.functions.meta import Datum

    value: func.EventGridEvent | func.CloudEvent = EventGridEventInConverter.decode(
        Datum(json.dumps(event), "json"), trigger_metadata={}
    )
    return value
