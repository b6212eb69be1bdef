"""ACS events via Event Grid: event bodies, webhook subscriptions, delivery.

The events: RecordingFileStatusUpdated when a stopped recording's files are ready, CallStarted when
a call is created and CallEnded when it ends. A webhook subscription may name the event types it
takes (Event Grid's ``includedEventTypes``); without, it takes them all, as a subscription without
a filter does.

The real path is ACS -> Event Grid -> subscriber webhook. The emulator plays Event Grid for the
configured webhooks: one POST per event (Event Grid schema: a JSON array holding one event, header
``aeg-event-type: Notification``; CloudEvents schema: one event object), retried with exponential
backoff like Event Grid (its real schedule of 10 s, 30 s, 1 min, ... is scaled down: ``retry_base``
doubling per attempt, capped). Per the Event Grid delivery docs (not in the captured payloads),
400, 403 and 413 are not retried; other failures and timeouts are.

SAFETY: like state callbacks, deliveries only go to loopback hosts (see
:func:`.webhooks.send`); other hosts are recorded as skipped, never resolved.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from .faults import EVENT_FAULTS, FaultInjector
from .recording_files import RecordingFiles, format_time
from .state import Call
from .webhooks import WebhookAnswer, send

log = logging.getLogger(__name__)

EVENT_TYPE = "Microsoft.Communication.RecordingFileStatusUpdated"
CALL_STARTED = "Microsoft.Communication.CallStarted"
CALL_ENDED = "Microsoft.Communication.CallEnded"
EVENT_TYPES = (EVENT_TYPE, CALL_STARTED, CALL_ENDED)
# How CallEnded names the call's length: the docs sample says durationOfCall, the SDK models
# callDurationInSeconds. Which one the service sends is UNVERIFIED; the emulator sends either.
DurationField = Literal["durationOfCall", "callDurationInSeconds"]
DURATION_FIELDS: tuple[DurationField, ...] = ("durationOfCall", "callDurationInSeconds")
VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"
EventSchema = Literal["EventGridSchema", "CloudEventSchemaV1_0"]
DeliveryOutcome = Literal["delivered", "failed", "skipped"]
NOT_RETRIED = frozenset({400, 403, 413})
CLOUD_EVENTS_ORIGIN = "eventgrid.azure.net"


_PASCAL = {
    "audio": "Audio",
    "audioVideo": "AudioVideo",
    "mixed": "Mixed",
    "unmixed": "Unmixed",
    "wav": "Wav",
    "mp3": "Mp3",
    "mp4": "Mp4",
}


def default_topic(resource_name: str = "acs-emulator") -> str:
    """Event Grid topic of an ACS resource (placeholder subscription and resource group)."""
    return (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/acs-emulator"
        f"/providers/microsoft.communication/communicationservices/{resource_name}"
    )


def build_file_status_event(
    files: RecordingFiles, topic: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """One Event Grid schema event, keys and shapes as in recording-file-status-updated.eventgrid.docs.json.

    ``{call-id}`` in the subject is the call's group call id (UNVERIFIED which id the service uses;
    the metadata's ``callId`` is the same GUID).
    """
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": (
            f"/recording/call/{files.call_id}/serverCallId/{files.server_call_id}"
            f"/recordingId/{files.recording_id}"
        ),
        "data": {
            "recordingStorageInfo": {"recordingChunks": [c.storage_info() for c in files.chunks]},
            "recordingStartTime": format_time(files.timeline.start),
            # UNVERIFIED: whether the service counts paused time; here recorded media only.
            "recordingDurationMs": files.duration_ms,
            "sessionEndReason": files.session_end_reason,
            # In the public Event Grid schema (SDK models, the SDK test sample) though absent from
            # the docs example; PascalCase like every enum of Event Grid data.
            "recordingContentType": _PASCAL[files.content_type],
            "recordingChannelType": _PASCAL[files.channel_type],
            "recordingFormatType": _PASCAL[files.format_type],
        },
        "eventType": EVENT_TYPE,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": format_time(now or datetime.now(UTC)),
    }


def _participant(raw_id: str) -> dict[str, Any]:
    """An AcsCallParticipant as the SDK models it and the docs sample of 2022-12 shows it (the
    sample's `role` is a placeholder, left out here)."""
    identifier: dict[str, Any] = {"rawId": raw_id}
    if raw_id.startswith("8:acs:"):
        identifier["communicationUser"] = {"id": raw_id}
    return {"communicationIdentifier": identifier}


def build_call_event(
    call: Call,
    topic: str,
    *,
    duration_field: DurationField = "durationOfCall",
    now: datetime | None = None,
) -> dict[str, Any]:
    """CallStarted for a live call, CallEnded for an ended one: keys, shapes and subjects as in the
    docs samples (tests/fixtures/reference/acs-calling/calling-events.eventgrid.docs.json).

    ``group`` is sent for a group call only, ``room`` for a Rooms call only (UNVERIFIED: the docs
    sample of a 1:1 call carries the all-zero group id). CallEnded's ``reason`` and ``endedBy``
    follow the SDK models (AcsCallEndReason, AcsCallEndedBy); their values here are UNVERIFIED.
    """
    ended = call.ended_at is not None
    data: dict[str, Any] = {}
    if ended:
        assert call.ended_at is not None
        data[duration_field] = round((call.ended_at - call.created_at).total_seconds(), 3)
    if call.started_by:
        data["startedBy"] = _participant(call.started_by)
    data["serverCallId"] = call.server_call_id
    if call.kind == "group":
        data["group"] = {"id": call.group_call_id}
    if call.kind == "room" and call.room_id:
        data["room"] = {"id": call.room_id}
    data["isTwoParty"] = call.kind == "twoParty"
    data["correlationId"] = call.correlation_id
    data["isRoomsCall"] = call.kind == "room"
    if ended:
        if call.ended_by:
            data["endedBy"] = {**_participant(call.ended_by), "kind": "Participant"}
        data["reason"] = {"code": 0, "subCode": 0, "phrase": "Call ended"}
    subject = f"call/{call.server_call_id}"
    if not ended and call.started_by:
        subject += f"/startedBy/{call.started_by}"
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": subject,
        "data": data,
        "eventType": CALL_ENDED if ended else CALL_STARTED,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": format_time(now or call.ended_at or call.created_at),
    }


def to_cloud_event(event: dict[str, Any]) -> dict[str, Any]:
    """The same event in CloudEvents 1.0 form (order as in the SDK test sample; source = topic); an event
    already in that form (the local topic's, devtools/event_grid) as it is."""
    if "specversion" in event:
        return event
    return {
        "source": event["topic"],
        "subject": event["subject"],
        "type": event["eventType"],
        "time": event["eventTime"],
        "id": event["id"],
        "data": event["data"],
        "specversion": "1.0",
    }


@dataclass(frozen=True)
class Webhook:
    url: str
    schema: EventSchema
    name: str  # Event Grid subscription name, sent upper-cased in aeg-subscription-name
    event_types: frozenset[str] | None = None  # includedEventTypes; None: every type

    def takes(self, event: dict[str, Any]) -> bool:
        return self.event_types is None or event.get("eventType") in self.event_types

    def to_dict(self) -> dict[str, Any]:
        types = sorted(self.event_types) if self.event_types is not None else None
        return {"url": self.url, "schema": self.schema, "name": self.name, "eventTypes": types}


@dataclass(frozen=True)
class EventDelivery:
    """One attempt to deliver (or validate) to a webhook, as tests and the admin API see it."""

    url: str
    kind: Literal["notification", "validation"]
    event_id: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    outcome: DeliveryOutcome
    status: int | None
    error: str | None
    at: datetime
    note: str | None = None  # "duplicate" / "reordered" when a fault shaped this delivery

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def event_type(self) -> str | None:
        """The type of the event delivered (either schema); None for a CloudEvents handshake."""
        body = self.json()
        event = body[0] if isinstance(body, list) and body else body
        if not isinstance(event, dict):
            return None
        found = event.get("eventType", event.get("type"))
        return str(found) if found is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "eventId": self.event_id,
            "headers": self.headers,
            "body": self.json(),
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
            "note": self.note,
        }


class WebhookValidationError(Exception):
    """The webhook did not complete the subscription validation handshake."""


@dataclass
class _Job:
    webhook: Webhook
    event: dict[str, Any]
    note: str | None = None


class EventDispatcher:
    """Event Grid stand-in: webhook subscriptions and at-least-once delivery with retries."""

    def __init__(
        self,
        tls_context: ssl.SSLContext,
        faults: FaultInjector,
        *,
        timeout: float = 3.0,
        retry_base: float = 0.1,
        max_attempts: int = 6,
        retry_max_delay: float = 2.0,
        validation_url: Callable[[str], str] = lambda code: "",
        max_workers: int = 8,
    ) -> None:
        self._tls = tls_context
        self._faults = faults
        self.timeout = timeout
        self.retry_base = retry_base
        self.max_attempts = max_attempts
        self.retry_max_delay = retry_max_delay
        self._validation_url = validation_url
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="acs-emulator-events")
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._webhooks: dict[str, Webhook] = {}
        self._held: dict[str, _Job] = {}
        self._deliveries: list[EventDelivery] = []
        self._timers: set[threading.Timer] = set()
        self._pending = 0
        self._closed = False

    # -- subscriptions --------------------------------------------------------------------------
    def add_webhook(
        self,
        url: str,
        *,
        schema: EventSchema = "EventGridSchema",
        validate: bool = False,
        name: str | None = None,
        topic: str = "",
        event_types: Collection[str] | None = None,
    ) -> Webhook:
        if schema not in ("EventGridSchema", "CloudEventSchemaV1_0"):
            raise ValueError("schema must be EventGridSchema or CloudEventSchemaV1_0")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook URL must be an absolute http(s) URL")
        if event_types is not None and (not event_types or set(event_types) - set(EVENT_TYPES)):
            raise ValueError(f"event_types must be some of {', '.join(EVENT_TYPES)}")
        webhook = Webhook(
            url=url,
            schema=schema,
            name=name or f"emulator-{uuid.uuid4().hex[:8]}",
            event_types=frozenset(event_types) if event_types is not None else None,
        )
        if validate:
            self._validate(webhook, topic)
        with self._lock:
            self._webhooks[url] = webhook
        return webhook

    def remove_webhook(self, url: str) -> bool:
        with self._lock:
            return self._webhooks.pop(url, None) is not None

    def clear_webhooks(self) -> None:
        with self._lock:
            self._webhooks.clear()

    @property
    def webhooks(self) -> list[Webhook]:
        with self._lock:
            return list(self._webhooks.values())

    # -- publishing ------------------------------------------------------------------------------
    def publish(self, event: dict[str, Any], delay: float = 0.0) -> None:
        """Deliver ``event`` to every current webhook that takes its type after ``delay`` seconds
        (non-blocking)."""
        with self._lock:
            if self._closed:
                return
            targets = [webhook for webhook in self._webhooks.values() if webhook.takes(event)]
            self._pending += len(targets)
        for webhook in targets:
            if delay > 0:
                timer = threading.Timer(delay, self._dispatch, args=(_Job(webhook, event),))
                timer.daemon = True
                with self._lock:
                    self._timers.add(timer)
                timer.start()
            else:
                self._dispatch(_Job(webhook, event))

    def _dispatch(self, job: _Job) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t.is_alive() and t is not threading.current_thread()}
        path = urlsplit(job.webhook.url).path or "/"
        rules = self._faults.take(EVENT_FAULTS, None, path, event_type=str(job.event.get("eventType", "")))
        kinds = {r.kind for r in rules}
        jobs = [job]
        with self._lock:
            held = self._held.pop(job.webhook.url, None)
            if held is None and "reorder_event" in kinds:
                job.note = "reordered"
                self._held[job.webhook.url] = job
                self._pending -= 1
                self._idle.notify_all()
                return
            if "duplicate_event" in kinds:
                jobs.append(_Job(job.webhook, job.event, note="duplicate"))
                self._pending += 1
            if held is not None:
                jobs.append(held)
                self._pending += 1
            if self._closed:
                return
        self._executor.submit(self._run, jobs)

    def flush_held(self) -> None:
        """Send events held back by a ``reorder_event`` fault without waiting for a next event."""
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
            self._pending += len(held)
        for job in held:
            self._executor.submit(self._run, [job])

    def _run(self, jobs: list[_Job]) -> None:
        for job in jobs:
            try:
                self._deliver(job)
            except Exception:
                log.exception("event delivery crashed")
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending <= 0:
                        self._idle.notify_all()

    def _deliver(self, job: _Job) -> None:
        webhook, event = job.webhook, job.event
        if webhook.schema == "EventGridSchema":
            body = json.dumps([event]).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        else:
            body = json.dumps(to_cloud_event(event)).encode("utf-8")
            content_type = "application/cloudevents+json; charset=utf-8"
        for attempt in range(1, self.max_attempts + 1):
            if self._closed:
                return
            # UNVERIFIED beyond aeg-event-type: header set as listed in the Event Grid delivery docs.
            headers = {
                "Content-Type": content_type,
                "aeg-event-type": "Notification",
                "aeg-subscription-name": webhook.name.upper(),
                "aeg-delivery-count": str(attempt - 1),
            }
            if webhook.schema == "EventGridSchema":
                headers["aeg-data-version"] = str(event.get("dataVersion", ""))
                headers["aeg-metadata-version"] = str(event.get("metadataVersion", "1"))
            result = self._send("POST", webhook.url, headers, body)
            if result.skipped is not None:
                self._record(job, "notification", headers, body, attempt, "skipped", None, result.skipped)
                return
            if result.ok:
                self._record(job, "notification", headers, body, attempt, "delivered", result.status, None)
                return
            self._record(job, "notification", headers, body, attempt, "failed", result.status, result.error)
            if result.status in NOT_RETRIED or attempt == self.max_attempts:
                return
            time.sleep(min(self.retry_base * 2 ** (attempt - 1), self.retry_max_delay))

    # -- validation handshake ------------------------------------------------------------------
    def _validate(self, webhook: Webhook, topic: str) -> None:
        job = _Job(webhook, {"id": ""})
        if webhook.schema == "CloudEventSchemaV1_0":
            headers = {"WebHook-Request-Origin": CLOUD_EVENTS_ORIGIN}
            result = self._send("OPTIONS", webhook.url, headers, b"")
            allowed = result.headers.get("webhook-allowed-origin")
            ok = result.status == 200 and allowed in (CLOUD_EVENTS_ORIGIN, "*")
            self._record_validation(job, headers, b"", result, ok)
            if not ok:
                raise WebhookValidationError(f"CloudEvents handshake failed: {result.status} {result.error}")
            return
        code = str(uuid.uuid4())
        event = {
            "id": str(uuid.uuid4()),
            "topic": topic,
            "subject": "",
            "data": {"validationCode": code, "validationUrl": self._validation_url(code)},
            "eventType": VALIDATION_EVENT_TYPE,
            "eventTime": format_time(datetime.now(UTC)),
            "metadataVersion": "1",
            "dataVersion": "2",
        }
        job.event = event
        body = json.dumps([event]).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "aeg-event-type": "SubscriptionValidation",
            "aeg-subscription-name": webhook.name.upper(),
            "aeg-delivery-count": "0",
        }
        result = self._send("POST", webhook.url, headers, body)
        try:
            answer = json.loads(result.body or b"null")
        except ValueError:
            answer = None
        ok = result.status == 200 and isinstance(answer, dict) and answer.get("validationResponse") == code
        self._record_validation(job, headers, body, result, ok)
        if not ok:
            raise WebhookValidationError(
                f"webhook did not answer the validation code: {result.status} {result.error or ''}".strip()
            )

    def _record_validation(
        self, job: _Job, headers: dict[str, str], body: bytes, result: WebhookAnswer, ok: bool
    ) -> None:
        outcome: DeliveryOutcome = "delivered" if ok else "skipped" if result.skipped else "failed"
        self._record(
            job, "validation", headers, body, 1, outcome, result.status, result.skipped or result.error
        )

    # -- plumbing --------------------------------------------------------------------------------
    def _record(
        self,
        job: _Job,
        kind: Literal["notification", "validation"],
        headers: dict[str, str],
        body: bytes,
        attempt: int,
        outcome: DeliveryOutcome,
        status: int | None,
        error: str | None,
    ) -> None:
        entry = EventDelivery(
            url=job.webhook.url,
            kind=kind,
            event_id=str(job.event.get("id", "")),
            headers=dict(headers),
            body=body,
            attempt=attempt,
            outcome=outcome,
            status=status,
            error=error,
            at=datetime.now(UTC),
            note=job.note,
        )
        with self._lock:
            self._deliveries.append(entry)
        log.info("event %s %s attempt %d to %s: %s", kind, outcome, attempt, job.webhook.url, status or error)

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes) -> WebhookAnswer:
        return send(method, url, headers, body, timeout=self.timeout, tls=self._tls)

    @property
    def deliveries(self) -> list[EventDelivery]:
        with self._lock:
            return list(self._deliveries)

    def clear_deliveries(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery is scheduled or running (held events do not count)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending <= 0, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            timers = list(self._timers)
        for timer in timers:
            timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
