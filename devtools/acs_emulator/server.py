"""``AcsEmulator``: wires TLS, routing, auth, state, callbacks and recording content into one HTTPS service.

One TLS server and port serve both planes: the control plane at ``https://127.0.0.1:PORT/calling/...``
and the content plane at ``https://us-storage.asm.skype.com:PORT/v1/objects/...`` (the name is
resolved to loopback with :func:`.loopback_dns.loopback_dns`; the certificate names it).
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import uuid
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from types import TracebackType

import trustme

from devtools.loopback_dns import loopback_dns

from . import admin_api
from . import recording_api as api
from .admin_api import AdminApi
from .admin_content import ContentAdminApi
from .callbacks import CallbackDelivery, CallbackDispatcher, CallbackSigner, build_state_changed_event
from .content_api import CONTENT_PATH, OBJECT_PATH, ContentApi
from .entra import EntraIssuer, IdentityEndpoint
from .events import (
    DurationField,
    EventDelivery,
    EventDispatcher,
    EventSchema,
    Webhook,
    build_call_event,
    build_file_status_event,
    default_topic,
)
from .faults import FaultInjector, FaultKind, FaultRule
from .hmac_auth import decode_access_key
from .http_types import (
    ApiError,
    Handler,
    RecordedRequest,
    Request,
    Response,
    Route,
    RouteAuth,
    json_response,
)
from .httpd import TlsHttpServer
from .media import WAV_MAX_BYTES
from .recording_files import (
    DEFAULT_MAX_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    ContentStore,
    RecordingFiles,
    TimelineOverride,
    build_recording_files,
)
from .result_api import RESULT_PATH, RecordingResultApi
from .router import Router
from .schema import StartRecordingOptions
from .state import (
    Call,
    CallKind,
    EmulatorState,
    RecordingNotFoundError,
    RecordingSnapshot,
    StateChange,
    TransitionListener,
)
from .tls import TlsMaterial, create_tls_material

log = logging.getLogger(__name__)

OPENID_CONFIGURATION_PATH = "/calling/.well-known/acsopenidconfiguration"
# UNVERIFIED: the real jwks_uri path is not in the reference material; the OpenID document points
# to wherever the keys are, so clients following discovery are unaffected.
JWKS_PATH = "/calling/.well-known/keys"


class AcsEmulator:
    """Local, spec-faithful stand-in for the ACS Call Recording control plane.

    >>> with AcsEmulator() as emu:                                  # doctest: +SKIP
    ...     call = emu.create_call(participants=["8:acs:..."])
    ...     client = CallAutomationClient.from_connection_string(
    ...         emu.connection_string, connection_verify=emu.ca_pem_path)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str | None = None,
        activation_delay: float = 0.05,
        *,
        resource_id: str | None = None,
        callback_timeout: float = 3.0,
        callback_retry_delays: tuple[float, ...] = (0.2, 0.5),
        callback_ca_files: tuple[str, ...] = (),
        content_host: str = "us-storage.asm.skype.com",
        regional_content_host: str | None = "eus-storage.asm.skype.com",
        max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
        file_status_delay: float = 0.2,
        event_topic: str | None = None,
        event_timeout: float = 3.0,
        event_retry_base: float = 0.1,
        event_max_attempts: int = 6,
        result_pending_seconds: float = 5.0,
    ) -> None:
        self.host = host
        self.port = port
        self.access_key = access_key or base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        self._secret = decode_access_key(self.access_key)  # fails early on a malformed key
        self.resource_id = resource_id or str(uuid.uuid4())
        self.activation_delay = activation_delay
        self._callback_timeout = callback_timeout
        self._callback_retry_delays = callback_retry_delays
        self._callback_ca_files = callback_ca_files
        self.state = EmulatorState(activation_delay=activation_delay)
        # Microsoft Entra ID for the managed-identity path: bearer tokens this issuer signed are
        # accepted beside HMAC; `identity` is the App Service identity endpoint handing them out.
        self.entra = EntraIssuer()
        self.identity = IdentityEndpoint(self.entra)
        self._recording_api = api.RecordingApi(self.state, self._secret, self.entra)
        self._server: TlsHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: TlsMaterial | None = None
        self._dispatcher: CallbackDispatcher | None = None
        self._signer: CallbackSigner | None = None
        self.endpoint = ""
        # -- content plane
        self.content_host = content_host
        # Where downloads are redirected (302), as the real recording host does; None: served in
        # place. A test may point it anywhere ("localhost:PORT") to play a hostile redirect.
        self.regional_content_host = regional_content_host
        # True: answer every download 200 with the whole file, Range or not (RFC 9110 allows a
        # server to ignore Range); the archive must still be right, in bounded memory.
        self.ignore_range = False
        self._max_chunk_bytes = 0
        self.max_chunk_bytes = max_chunk_bytes
        self.file_status_delay = file_status_delay
        # How CallEnded names the call's length: the docs sample's `durationOfCall` or the SDK
        # models' `callDurationInSeconds` (which one ACS sends is UNVERIFIED; the app reads both).
        self.call_duration_field: DurationField = "durationOfCall"
        # How long after a stop the (preview) result route still says SessionStillOngoing, as the
        # capture did 4 s after one (result_api.py). Tests set it to 0, or to hours.
        self.result_pending_seconds = result_pending_seconds
        self.event_topic = event_topic or default_topic()
        self._event_timeout = event_timeout
        self._event_retry_base = event_retry_base
        self._event_max_attempts = event_max_attempts
        self._store = ContentStore()
        self._faults = FaultInjector()
        self._router = Router(self._faults, self.authenticate)
        self._events: EventDispatcher | None = None
        self._overrides: dict[str, TimelineOverride] = {}
        self._overrides_lock = threading.Lock()

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> AcsEmulator:
        """Serve in a background thread; returns self. An emulator cannot be restarted after stop()."""
        if self._server is not None:
            return self
        if self.endpoint:
            raise RuntimeError("a stopped AcsEmulator cannot be restarted; create a new one")
        self._tls = create_tls_material()
        self._server = TlsHttpServer((self.host, self.port), self._tls.server_context(), self._router)
        self.port = int(self._server.server_address[1])
        url_host = f"[{self.host}]" if ":" in self.host else self.host
        self.endpoint = f"https://{url_host}:{self.port}"
        self._signer = CallbackSigner(issuer=self.endpoint, audience=self.resource_id)
        self._dispatcher = CallbackDispatcher(
            self._signer,
            self._tls.client_context(self._callback_ca_files),
            timeout=self._callback_timeout,
            retry_delays=self._callback_retry_delays,
        )
        self._events = EventDispatcher(
            self._tls.client_context(self._callback_ca_files),
            self._faults,
            timeout=self._event_timeout,
            retry_base=self._event_retry_base,
            max_attempts=self._event_max_attempts,
            validation_url=lambda code: f"{self.admin_url}/event-webhooks/validate?code={code}",
        )
        self.identity.start()
        self.state.add_listener(self._on_transition)
        self.state.add_call_listener(self._on_call)
        self._register_builtin_routes()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="acs-emulator", daemon=True
        )
        self._thread.start()
        log.info("ACS emulator listening on %s", self.endpoint)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.identity.stop()
        self.state.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
        if self._events is not None:
            self._events.close()
        if self._tls is not None:
            self._tls.cleanup()

    def __enter__(self) -> AcsEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- connection details -----------------------------------------------------------------------
    @property
    def managed_identity_environment(self) -> dict[str, str]:
        """The app settings of the identity path: ``ACS_ENDPOINT`` (no key) and the identity
        endpoint azure-identity finds through ``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``."""
        self._require_started()
        return {"ACS_ENDPOINT": self.endpoint, **self.identity.environment}

    @property
    def connection_string(self) -> str:
        return f"endpoint={self._require_started()}/;accesskey={self.access_key}"

    @property
    def ca_pem_path(self) -> str:
        self._require_started()
        assert self._tls is not None
        return str(self._tls.ca_pem_path)

    @property
    def ca(self) -> trustme.CA:
        """The test CA, e.g. to issue a certificate for a test's HTTPS callback receiver."""
        self._require_started()
        assert self._tls is not None
        return self._tls.ca

    def issue_cert(self, *hostnames: str) -> trustme.LeafCert:
        """A leaf certificate signed by the emulator CA (which the emulator trusts for callbacks)."""
        return self.ca.issue_cert(*hostnames)

    def sign_callback_token(
        self,
        *,
        now: datetime | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        lifetime: timedelta | None = None,
    ) -> str:
        """A JWT exactly like the ones on state callbacks (signed with the published key).

        Overrides produce tokens that must be refused (``now`` in the past -> expired, another
        ``audience`` -> other resource), for testing webhook verification without a recording.
        """
        self._require_started()
        assert self._signer is not None
        return self._signer.token(now, audience=audience, issuer=issuer, lifetime=lifetime)

    @property
    def openid_configuration_url(self) -> str:
        return f"{self._require_started()}{OPENID_CONFIGURATION_PATH}"

    @property
    def jwks_url(self) -> str:
        return f"{self._require_started()}{JWKS_PATH}"

    @property
    def admin_url(self) -> str:
        return f"{self._require_started()}/admin"

    def _require_started(self) -> str:
        if not self.endpoint:
            raise RuntimeError("AcsEmulator is not started")
        return self.endpoint

    # -- test helpers -----------------------------------------------------------------------------
    def create_call(
        self,
        participants: list[str] | tuple[str, ...] = (),
        *,
        server_call_id: str | None = None,
        group_call_id: str | None = None,
        call_connection_id: str | None = None,
        kind: CallKind = "group",
        room_id: str | None = None,
        started_by: str | None = None,
    ) -> Call:
        """A live call (CallStarted goes to the event webhooks): a group call by default, `twoParty`
        or `room`; started by its first participant unless `started_by` says otherwise."""
        return self.state.create_call(
            participants,
            server_call_id=server_call_id,
            group_call_id=group_call_id,
            call_connection_id=call_connection_id,
            kind=kind,
            room_id=room_id,
            started_by=started_by,
        )

    def end_call(
        self,
        server_call_id: str,
        *,
        duration_s: float | None = None,
        pauses: Sequence[Sequence[float]] = (),
        ended_by: str | None = None,
    ) -> Call:
        """End the call; its live recordings stop (``callEnded``) with the given timeline, if any,
        then CallEnded goes to the event webhooks."""
        override = self._override(duration_s, pauses)
        if override is not None:
            with self._overrides_lock:
                for snapshot in self.state.recordings():
                    if snapshot.server_call_id == server_call_id and snapshot.state != "stopped":
                        self._overrides[snapshot.recording_id] = override
        return self.state.end_call(server_call_id, ended_by=ended_by)

    def recordings(self) -> list[RecordingSnapshot]:
        return self.state.recordings()

    def recording(self, recording_id: str) -> RecordingSnapshot:
        return self.state.recording(recording_id)

    # -- recording content --------------------------------------------------------------------------
    @property
    def content_base_url(self) -> str:
        """``https://us-storage.asm.skype.com``: where chunk URLs point. No port, as in the real
        service: :meth:`loopback_dns` sends that name's port 443 to this emulator."""
        self._require_started()
        return f"https://{self.content_host}"

    @property
    def max_chunk_bytes(self) -> int:
        """Largest content file per chunk (header included); applies to recordings stopped later."""
        return self._max_chunk_bytes

    @max_chunk_bytes.setter
    def max_chunk_bytes(self, value: int) -> None:
        if not MIN_CHUNK_BYTES <= value <= WAV_MAX_BYTES:
            raise ValueError(f"max_chunk_bytes must be between {MIN_CHUNK_BYTES} and {WAV_MAX_BYTES}")
        self._max_chunk_bytes = value

    @staticmethod
    def _override(duration_s: float | None, pauses: Sequence[Sequence[float]]) -> TimelineOverride | None:
        if duration_s is None:
            if pauses:
                raise ValueError("pauses need duration_s")
            return None
        return TimelineOverride.of(duration_s, pauses)

    def set_recording_timeline(
        self, recording_id: str, duration_s: float, pauses: Sequence[Sequence[float]] = ()
    ) -> None:
        """Make the next stop of this live recording (API stop or call end) produce exactly
        ``duration_s`` seconds of media (pauses excluded) with ``pauses`` as ``(offset_s, length_s)``
        at media offsets, instead of the wall-clock timeline. No waiting needed.
        """
        override = TimelineOverride.of(duration_s, pauses)
        self.state.get_recording(recording_id)  # RecordingNotFoundError for unknown/stopped ones
        with self._overrides_lock:
            self._overrides[recording_id] = override

    def stop_recording(
        self,
        recording_id: str,
        *,
        duration_s: float | None = None,
        pauses: Sequence[Sequence[float]] = (),
    ) -> RecordingFiles:
        """Stop like the API does (``stopRequested``) and return the files.

        ``duration_s``/``pauses``: as in :meth:`set_recording_timeline`; omitted = wall clock.
        """
        override = self._override(duration_s, pauses)
        if override is not None:
            self.set_recording_timeline(recording_id, override.duration_s, override.pauses)
        self.state.stop_recording(recording_id)
        return self.recording_files(recording_id)

    def recording_files(self, recording_id: str) -> RecordingFiles:
        """Chunks of a stopped recording (KeyError if it has not stopped). Deleted chunks stay listed."""
        return self._store.files(recording_id)

    def serve_metadata(self, document_id: str, body: bytes) -> None:
        """Serve `body` as a document's metadata from now on: a malformed `acsmetadata` document."""
        self._store.replace_metadata(document_id, body)

    def loopback_dns(self) -> AbstractContextManager[None]:
        """Context manager resolving ``*.asm.skype.com`` (and the other recording hosts) to this emulator."""
        address = self.host if self.host not in ("0.0.0.0", "::") else "127.0.0.1"
        return loopback_dns(address, https_port=self.port)

    # -- Event Grid -----------------------------------------------------------------------------
    def add_event_webhook(
        self,
        url: str,
        *,
        schema: EventSchema = "EventGridSchema",
        validate: bool = False,
        name: str | None = None,
        event_types: Collection[str] | None = None,
    ) -> Webhook:
        """Subscribe a webhook to the emulator's events (loopback hosts only get deliveries):
        RecordingFileStatusUpdated, CallStarted and CallEnded, or only the ``event_types`` named
        (Event Grid's ``includedEventTypes``).

        ``validate=True`` first runs Event Grid's handshake (SubscriptionValidationEvent, or the
        CloudEvents OPTIONS request) and raises WebhookValidationError if the webhook fails it.
        """
        return self._require_events().add_webhook(
            url, schema=schema, validate=validate, name=name, topic=self.event_topic, event_types=event_types
        )

    def remove_event_webhook(self, url: str) -> bool:
        return self._require_events().remove_webhook(url)

    def clear_event_webhooks(self) -> None:
        self._require_events().clear_webhooks()

    @property
    def event_webhooks(self) -> list[Webhook]:
        return self._events.webhooks if self._events is not None else []

    @property
    def event_deliveries(self) -> list[EventDelivery]:
        """Every delivery attempt (and validation handshake), in the order they finished."""
        return self._events.deliveries if self._events is not None else []

    def clear_event_deliveries(self) -> None:
        if self._events is not None:
            self._events.clear_deliveries()

    def wait_for_events(self, timeout: float = 5.0) -> bool:
        """Wait until no event delivery is scheduled, delayed or retrying; False on timeout."""
        return self._events.wait_idle(timeout) if self._events is not None else True

    def flush_held_events(self) -> None:
        """Deliver events held back by a ``reorder_event`` fault now."""
        if self._events is not None:
            self._events.flush_held()

    def _require_events(self) -> EventDispatcher:
        self._require_started()
        assert self._events is not None
        return self._events

    # -- faults ---------------------------------------------------------------------------------
    def add_fault(
        self,
        kind: FaultKind,
        path: str = "",
        *,
        count: int | None = 1,
        method: str | None = None,
        status: int = 503,
        retry_after: int | None = None,
        after_bytes: int = 0,
        seconds: float = 0.0,
        bytes_per_second: int = 0,
        probability: float = 1.0,
        seed: int | None = None,
        event_type: str | None = None,
    ) -> FaultRule:
        """Inject a fault into the next ``count`` matching requests/events (see :mod:`.faults`);
        with ``probability`` < 1, into that share of them, drawn from ``seed``; an event fault with
        ``event_type`` into events of that type only."""
        return self._faults.add(
            kind,
            path,
            count=count,
            method=method,
            status=status,
            retry_after=retry_after,
            after_bytes=after_bytes,
            seconds=seconds,
            bytes_per_second=bytes_per_second,
            probability=probability,
            seed=seed,
            event_type=event_type,
        )

    @property
    def faults(self) -> list[FaultRule]:
        return self._faults.rules

    def clear_faults(self) -> None:
        self._faults.clear()

    def add_transition_listener(self, listener: TransitionListener) -> None:
        """Called (under the state lock, keep it quick) for every transition, including ``stopped``."""
        self.state.add_listener(listener)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._router.requests

    def clear_requests(self) -> None:
        self._router.clear_requests()

    @property
    def callback_deliveries(self) -> list[CallbackDelivery]:
        return self._dispatcher.deliveries if self._dispatcher is not None else []

    def clear_callback_deliveries(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.clear()

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """Wait until every queued callback delivery has finished; False on timeout."""
        return self._dispatcher.wait_idle(timeout) if self._dispatcher is not None else True

    # -- routing ----------------------------------------------------------------------------------
    def add_route(
        self, method: str, pattern: str, handler: Handler, *, auth: RouteAuth, record: bool = True
    ) -> None:
        """Register a handler; ``pattern`` is a regex matched against the whole decoded path.

        ``auth="hmac"`` verifies the HMAC signature against the Host header before the handler
        runs; handlers needing another signing host call :meth:`authenticate` themselves.
        """
        self._router.add(Route(method.upper(), re.compile(pattern), handler, auth, record))

    def authenticate(self, request: Request, *, signing_host: str | None = None) -> None:
        """Raise a 401 ApiError unless the request is HMAC-signed with this emulator's key."""
        self._recording_api.authenticate(request, signing_host=signing_host)

    def _register_builtin_routes(self) -> None:
        recording = self._recording_api
        self.add_route("POST", api.RECORDINGS_PATH.pattern, recording.start, auth="hmac")
        self.add_route("GET", api.RECORDING_PATH.pattern, recording.get, auth="hmac")
        self.add_route("DELETE", api.RECORDING_PATH.pattern, recording.stop, auth="hmac")
        self.add_route("POST", api.RECORDING_ACTION_PATH.pattern, recording.action, auth="hmac")
        result = RecordingResultApi(
            self.state, self._store, lambda: self.result_pending_seconds, lambda: datetime.now(UTC)
        )
        self.add_route("GET", RESULT_PATH.pattern, result.get, auth="hmac")
        self.add_route("GET", re.escape(OPENID_CONFIGURATION_PATH), self._openid_configuration, auth="none")
        self.add_route("GET", re.escape(JWKS_PATH), self._jwks, auth="none")
        # Content routes authenticate themselves: the signed host is the resource host, not Host.
        content = ContentApi(
            self._store,
            self._authenticate_with,
            lambda: self.endpoint.removeprefix("https://"),
            redirect_to=lambda: self.regional_content_host,
            ignore_range=lambda: self.ignore_range,
        )
        self.add_route("GET", CONTENT_PATH.pattern, content.download, auth="none")
        self.add_route("DELETE", OBJECT_PATH.pattern, content.delete, auth="none")

        assert self._dispatcher is not None
        admin = AdminApi(self.state, self._dispatcher, lambda: self.requests, self.clear_requests)
        for method, pattern, handler in (
            ("POST", admin_api.CALLS_PATH, admin.create_call),
            ("GET", admin_api.CALLS_PATH, admin.list_calls),
            ("DELETE", admin_api.CALL_PATH, admin.end_call),
            ("GET", admin_api.RECORDINGS_PATH, admin.list_recordings),
            ("GET", admin_api.RECORDING_PATH, admin.get_recording),
            ("GET", admin_api.REQUESTS_PATH, admin.list_requests),
            ("DELETE", admin_api.REQUESTS_PATH, admin.clear_requests),
            ("GET", admin_api.CALLBACKS_PATH, admin.list_callbacks),
        ):
            self.add_route(method, pattern.pattern, handler, auth="admin", record=False)
        for method, pattern, handler in ContentAdminApi(self).routes():
            self.add_route(method, pattern.pattern, handler, auth="admin", record=False)

    def _authenticate_with(self, request: Request, signing_host: str) -> None:
        self.authenticate(request, signing_host=signing_host)

    def _openid_configuration(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(
            200,
            {
                "issuer": self.endpoint,
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
            },
        )

    def _jwks(self, request: Request, match: re.Match[str]) -> Response:
        assert self._signer is not None
        return json_response(200, self._signer.jwks())

    # -- callbacks --------------------------------------------------------------------------------
    def _on_transition(self, snapshot: RecordingSnapshot, change: StateChange) -> None:
        if change.state == "stopped":
            self._on_stopped(snapshot)
            return
        if not snapshot.callback_uri or self._dispatcher is None:
            return
        event = build_state_changed_event(snapshot, change)
        self._dispatcher.submit(snapshot.recording_id, snapshot.callback_uri, [event])

    def _on_call(self, call: Call) -> None:
        """CallStarted when a call is created, CallEnded when it ends (runs under the state lock;
        publishing only queues the deliveries)."""
        if self._events is not None:
            self._events.publish(
                build_call_event(call, self.event_topic, duration_field=self.call_duration_field)
            )

    def _on_stopped(self, snapshot: RecordingSnapshot) -> None:
        """Produce the files and schedule RecordingFileStatusUpdated (runs under the state lock)."""
        with self._overrides_lock:
            override = self._overrides.pop(snapshot.recording_id, None)
        try:
            files = build_recording_files(
                snapshot,
                self.state.get_call(snapshot.server_call_id),
                resource_id=self.resource_id,
                base_url=self.content_base_url,
                max_chunk_bytes=self.max_chunk_bytes,
                override=override,
            )
        except Exception:
            log.exception("building the files of recording %s failed", snapshot.recording_id)
            return
        self._store.add(files)
        if files.chunks and self._events is not None:
            self._events.publish(build_file_status_event(files, self.event_topic), self.file_status_delay)


__all__ = [
    "AcsEmulator",
    "ApiError",
    "Call",
    "RecordingNotFoundError",
    "RecordingSnapshot",
    "StartRecordingOptions",
]
