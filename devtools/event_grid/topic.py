"""A local Event Grid custom topic: the publish API as documented, and push delivery to local webhooks.

No public emulator for Event Grid is installable here, so this one follows the documentation, and is
at least as strict as the service wherever the documentation leaves room:

- Endpoint: `POST https://<host>/api/events?api-version=2018-01-01` (docs: "Publish events to Azure
  Event Grid custom topics", Endpoint; the REST spec eventgrid data-plane 2018-01-01, operation
  `PublishCloudEventEvents`, which consumes `application/cloudevents-batch+json; charset=utf-8`).
  A missing or other api-version is a 400 (UNVERIFIED: which versions the service takes besides
  2018-01-01; this topic takes only that one).
- Content type: `application/cloudevents-batch+json` (a JSON array) or `application/cloudevents+json`
  (one event), `charset=utf-8` or none, as the docs list for a topic whose input schema is CloudEvents
  (Event Grid on IoT Edge API, "content-type ... CloudEventSchemaV1_0 in structured mode"); anything
  else is a 400 (UNVERIFIED: the service may answer 415).
- Events: objects with the required `id`, `source`, `type` and `specversion` (REST spec,
  `CloudEventEvent`), strings, `specversion` "1.0", `time` RFC 3339 if present, not both `data` and
  `data_base64`; else 400. At most 5,000 events per batch (quotas and limits: "Number of incoming
  events per batch: 5,000"; above it a 400 here, UNVERIFIED which status the service gives).
- Size: each event at most 1 MB and the whole batch at most 1 MB (docs: "the array can have a total size
  of up to 1 MB"; quotas: "Event size: 1 MB"), else 413. 1 MB is taken as 1,000,000 bytes, the
  stricter reading (UNVERIFIED whether the service means 1,048,576).
- Authentication: Microsoft Entra only, the topic's local auth being off (`disableLocalAuth`, as the
  template deploys it): `Authorization: Bearer <token>` whose audience is `https://eventgrid.azure.net`
  (docs: "Authenticate Event Grid publishing clients using Microsoft Entra ID": "the audience ... is
  confirmed to be Event Grid (https://eventgrid.azure.net)"), signed by the emulator's token issuer
  (devtools/acs_emulator/entra.py), unexpired; anything else, `aeg-sas-key` and `aeg-sas-token`
  included, is a 401. Not modelled: the "EventGrid Data Sender" role check (any valid token passes).
- Answers: 200 with no body; errors as the docs give them, `{"error": {"code", "message", "details"}}`
  (UNVERIFIED: the exact codes and messages).

Accepted events are pushed to each subscribed webhook in the CloudEvents schema, one event per
request (`application/cloudevents+json; charset=utf-8`), after the CloudEvents abuse-protection
handshake (OPTIONS with `WebHook-Request-Origin`), retried with backoff: the ACS emulator's own
Event Grid delivery (devtools/acs_emulator/events.py), loopback only. Event Grid keeps no order;
neither does this topic promise one (deliveries run in parallel).

Admin routes on the same port, loopback only and unauthenticated, for the stack, the demo and tests:
`GET/POST /admin/subscriptions` (`{"endpoint": url}`), `GET /admin/events[?subject=...]`,
`POST /admin/faults` (`{"status": 503, "count": 2}` or `{"hangSeconds": 5, "count": 1}`), `DELETE
/admin/faults`.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import trustme

from devtools.acs_emulator.entra import EVENT_GRID_AUDIENCES, EntraIssuer, InvalidTokenError
from devtools.acs_emulator.events import EventDispatcher, Webhook
from devtools.acs_emulator.faults import FaultInjector
from devtools.http_server import BodyError, LoopbackHttpServer, read_body, serve_in_background, shut_down

log = logging.getLogger(__name__)

API_VERSION: Final = "2018-01-01"
PUBLISH_PATH: Final = "/api/events"
MAX_BYTES: Final = 1_000_000
MAX_EVENTS: Final = 5_000
CONTENT_TYPES: Final = ("application/cloudevents-batch+json", "application/cloudevents+json")
REQUIRED: Final = ("id", "source", "type", "specversion")


@dataclass(frozen=True)
class PublishAttempt:
    """One publish request as the topic answered it (no token kept)."""

    status: int
    events: int
    reason: str | None
    at: datetime


@dataclass
class _Fault:
    status: int | None
    hang_seconds: float
    count: int


@dataclass
class _State:
    accepted: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[PublishAttempt] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)


class RefusedError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class LocalTopic:
    """The topic on `https://127.0.0.1:<port>/api/events`, its certificate from the emulator's CA."""

    def __init__(
        self,
        issuer: EntraIssuer,
        ca: trustme.CA,
        client_tls: ssl.SSLContext,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_base: float = 0.2,
        max_attempts: int = 8,
    ) -> None:
        self._issuer, self._ca, self.host, self.port = issuer, ca, host, port
        self._state = _State()
        self._lock = threading.Lock()
        self._dispatcher = EventDispatcher(
            client_tls, FaultInjector(), retry_base=retry_base, max_attempts=max_attempts, retry_max_delay=5.0
        )
        self._server: LoopbackHttpServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LocalTopic:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ca.issue_cert(self.host, "localhost").configure_cert(context)
        topic = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                topic._handle(self, "POST")

            def do_GET(self) -> None:
                topic._handle(self, "GET")

            def do_DELETE(self) -> None:
                topic._handle(self, "DELETE")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = LoopbackHttpServer((self.host, self.port), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        serve_in_background(self._server, "event-grid-topic")
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        shut_down(server)
        self._dispatcher.close()

    def __enter__(self) -> LocalTopic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the stack, the demo and tests use --------------------------------------------------
    @property
    def endpoint(self) -> str:
        """What EVENT_GRID_TOPIC_ENDPOINT is set to (the SDK appends the api-version)."""
        return f"https://{self.host}:{self.port}{PUBLISH_PATH}"

    @property
    def admin_url(self) -> str:
        return f"https://{self.host}:{self.port}/admin"

    def subscribe(self, url: str, *, validate: bool = True, name: str | None = None) -> Webhook:
        """Push every accepted event to `url` (CloudEvents schema), after the handshake."""
        return self._dispatcher.add_webhook(url, schema="CloudEventSchemaV1_0", validate=validate, name=name)

    def events(self, subject: str | None = None) -> list[dict[str, Any]]:
        """The events accepted so far (every one, duplicates included), optionally of one subject."""
        with self._lock:
            return [e for e in self._state.accepted if subject is None or e.get("subject") == subject]

    @property
    def attempts(self) -> list[PublishAttempt]:
        with self._lock:
            return list(self._state.attempts)

    def fail_next(self, count: int = 1, *, status: int | None = 503, hang_seconds: float = 0.0) -> None:
        """The next `count` publishes are answered `status` (after `hang_seconds`), or only delayed."""
        with self._lock:
            self._state.faults.append(_Fault(status, hang_seconds, count))

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def reset(self) -> None:
        with self._lock:
            self._state = _State()
        self._dispatcher.clear_webhooks()
        self._dispatcher.clear_deliveries()

    # -- HTTP ------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        try:
            if parts.path == PUBLISH_PATH and method == "POST":
                self._publish(handler, parse_qs(parts.query))
                self._answer(handler, 200, None)
            elif parts.path.startswith("/admin/"):
                self._admin(handler, method, parts.path, parse_qs(parts.query))
            else:
                raise RefusedError(404, "The requested resource is not found.")
        except RefusedError as refused:
            # A refused request's body may be unread: this connection cannot carry another request.
            handler.close_connection = True
            self._answer(
                handler,
                refused.status,
                {
                    "error": {
                        "code": str(refused.status),
                        "message": refused.message,
                        "details": [{"code": str(refused.status), "message": refused.message}],
                    }
                },
            )

    def _publish(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> None:
        events: list[dict[str, Any]] = []
        try:
            fault = self._take_fault()
            if fault is not None:
                time.sleep(fault.hang_seconds)
                if fault.status is not None:
                    raise RefusedError(fault.status, "Injected fault.")
            events = self._checked(handler, query)
        except RefusedError as refused:
            self._note(PublishAttempt(refused.status, len(events), refused.message, datetime.now(UTC)))
            raise
        with self._lock:
            self._state.accepted.extend(events)
            self._state.attempts.append(PublishAttempt(200, len(events), None, datetime.now(UTC)))
        for event in events:
            self._dispatcher.publish(event)

    def _checked(self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        # The body is read (or, over the limit, read and dropped) before any answer, so a client still
        # sending it always gets the answer rather than a connection closed under it.
        declared = (handler.headers.get("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > MAX_BYTES:
            _discard(handler, int(declared))
            raise RefusedError(413, f"The request exceeds the maximum allowed size of {MAX_BYTES} bytes.")
        try:
            body = read_body(handler.rfile, handler.headers, MAX_BYTES)
        except BodyError as error:
            raise RefusedError(error.status, error.message) from None
        if query.get("api-version") != [API_VERSION]:
            raise RefusedError(400, f"The api-version query parameter is missing or not {API_VERSION}.")
        self._authenticate(handler.headers.get("Authorization"), handler.headers)
        media, _, parameters = (handler.headers.get("Content-Type") or "").partition(";")
        charset = parameters.strip().lower().replace(" ", "")
        if media.strip().lower() not in CONTENT_TYPES or charset not in ("", "charset=utf-8"):
            raise RefusedError(
                400, f"Content-Type must be one of {', '.join(CONTENT_TYPES)} (charset=utf-8)."
            )
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RefusedError(400, "The request body is not valid JSON.") from None
        batch = media.strip().lower() == CONTENT_TYPES[0]
        events = document if batch else [document]
        if not isinstance(events, list) or not events:
            raise RefusedError(400, "The request body must be a non-empty JSON array of CloudEvents.")
        if len(events) > MAX_EVENTS:
            raise RefusedError(400, f"A batch holds at most {MAX_EVENTS} events.")
        for position, event in enumerate(events):
            _check_event(position, event)
        return events

    def _authenticate(self, authorization: str | None, headers: Any) -> None:
        if headers.get("aeg-sas-key") or headers.get("aeg-sas-token"):
            raise RefusedError(
                401, "Local authentication is disabled for this topic; use Microsoft Entra ID."
            )
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RefusedError(
                401, "The request is not authorized: a Microsoft Entra bearer token is required."
            )
        try:
            self._issuer.verify(token.strip(), EVENT_GRID_AUDIENCES)
        except InvalidTokenError as error:
            raise RefusedError(401, f"The bearer token is not valid for Event Grid ({error}).") from None

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._state.faults:
                return None
            fault = self._state.faults[0]
            fault.count -= 1
            if fault.count <= 0:
                self._state.faults.pop(0)
            return fault

    def _note(self, attempt: PublishAttempt) -> None:
        with self._lock:
            self._state.attempts.append(attempt)

    def _admin(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]]
    ) -> None:
        try:
            raw = read_body(handler.rfile, handler.headers, 64 * 1024)
            body = json.loads(raw) if raw else {}
        except (BodyError, ValueError):
            raise RefusedError(400, "Malformed admin request.") from None
        if path == "/admin/subscriptions" and method == "POST":
            try:
                webhook = self.subscribe(str(body.get("endpoint", "")), name=body.get("name"))
            except Exception as error:  # a bad URL or a failed handshake
                raise RefusedError(400, f"The subscription was not created: {error}") from None
            self._answer(handler, 201, webhook.to_dict())
        elif path == "/admin/subscriptions" and method == "GET":
            self._answer(handler, 200, [hook.to_dict() for hook in self._dispatcher.webhooks])
        elif path == "/admin/events" and method == "GET":
            self._answer(handler, 200, self.events(query["subject"][0] if "subject" in query else None))
        elif path == "/admin/faults" and method == "POST":
            self.fail_next(
                int(body.get("count", 1)),
                status=body.get("status"),
                hang_seconds=float(body.get("hangSeconds", 0.0)),
            )
            self._answer(handler, 204, None)
        elif path == "/admin/faults" and method == "DELETE":
            self.clear_faults()
            self._answer(handler, 204, None)
        else:
            raise RefusedError(404, "Unknown admin route.")

    @staticmethod
    def _answer(handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        try:
            handler.send_response(status)
            if handler.close_connection:
                handler.send_header("Connection", "close")
            if body is not None:
                handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:  # the publisher gave up waiting (its timeout, its process stopped)
            handler.close_connection = True


DISCARDED_AT_MOST: Final = 64 * 1024 * 1024  # beyond this, the connection is simply closed


def _discard(handler: BaseHTTPRequestHandler, length: int) -> None:
    """Read and drop a body too large to take, so the client reads the 413 (up to a sane bound)."""
    left = min(length, DISCARDED_AT_MOST)
    while left > 0:
        piece = handler.rfile.read(min(left, 256 * 1024))
        if not piece:
            break
        left -= len(piece)


# RFC 3339's date-time: full date, `T`, full time with its zone (fromisoformat alone also takes a date,
# a time without a zone, week dates and the basic format, none of which CloudEvents allows).
_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:  # e.g. month 13
        return False
    return True


def _check_event(position: int, event: object) -> None:
    """One CloudEvent as the topic takes it (REST spec `CloudEventEvent`; CloudEvents 1.0 JSON format)."""
    if not isinstance(event, dict):
        raise RefusedError(400, f"Event {position} is not a JSON object.")
    for name in REQUIRED:
        value = event.get(name)
        if not isinstance(value, str) or not value:
            raise RefusedError(400, f"Event {position}: the required attribute {name!r} is missing or empty.")
    if event["specversion"] != "1.0":
        raise RefusedError(400, f"Event {position}: specversion must be 1.0.")
    if "time" in event and not _is_rfc3339(event["time"]):
        raise RefusedError(400, f"Event {position}: time is not an RFC 3339 timestamp.")
    if "data" in event and "data_base64" in event:
        raise RefusedError(400, f"Event {position}: give data or data_base64, not both.")
    if len(json.dumps(event, separators=(",", ":")).encode("utf-8")) > MAX_BYTES:
        raise RefusedError(413, f"Event {position} exceeds the maximum event size of {MAX_BYTES} bytes.")
