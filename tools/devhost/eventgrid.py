"""Event Grid webhook deliveries -> `func.EventGridEvent`s, as the Functions host converts them.

Event Grid posts a JSON array (Event Grid schema) with `aeg-event-type: Notification`, or runs a
validation handshake (`SubscriptionValidation`: answer with the validation code). CloudEvents
1.0 deliveries (one event or a batch) are converted the same way the host does.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import azure.functions as func

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
    except ValueError:
        raise EventGridRequestError("body is not JSON") from None
    events = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(event, dict) for event in events):
        raise EventGridRequestError("events must be JSON objects")
    return events


def to_event_grid_event(event: dict[str, Any]) -> func.EventGridEvent:
    """Either schema -> the object an `event_grid_trigger` function receives."""
    if "specversion" in event:  # CloudEvents 1.0
        return func.EventGridEvent(
            id=str(event.get("id", "")),
            data=event.get("data"),  # type: ignore[arg-type]  # any JSON, as the host passes it
            topic=str(event.get("source", "")),
            subject=str(event.get("subject", "")),
            event_type=str(event.get("type", "")),
            event_time=_time(event.get("time")),
            data_version=str(event.get("dataschema") or ""),
        )
    return func.EventGridEvent(
        id=str(event.get("id", "")),
        data=event.get("data"),  # type: ignore[arg-type]  # any JSON, as the host passes it
        topic=str(event.get("topic", "")),
        subject=str(event.get("subject", "")),
        event_type=str(event.get("eventType", "")),
        event_time=_time(event.get("eventTime")),
        data_version=str(event.get("dataVersion", "")),
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    from shared.times import parse_time

    try:
        return parse_time(value)
    except ValueError:
        return None
