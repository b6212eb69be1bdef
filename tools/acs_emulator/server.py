"""``AcsEmulator``: wires TLS, routing, auth, state and callbacks into one local HTTPS service."""

from __future__ import annotations

import base64
import logging
import re
import secrets
import threading
import uuid
from datetime import datetime, timezone
from types import TracebackType

import trustme

from . import admin_api
from . import recording_api as api
from .admin_api import AdminApi, require_loopback_peer
from .callbacks import CallbackDelivery, CallbackDispatcher, CallbackSigner, build_state_changed_event
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
    redact_headers,
)
from .httpd import TlsHttpServer
from .schema import StartRecordingOptions
from .state import Call, EmulatorState, RecordingSnapshot, StateChange, TransitionListener
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
        self._recording_api = api.RecordingApi(self.state, self._secret)
        self._routes: list[Route] = []
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._server: TlsHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: TlsMaterial | None = None
        self._dispatcher: CallbackDispatcher | None = None
        self._signer: CallbackSigner | None = None
        self.endpoint = ""

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> AcsEmulator:
        """Serve in a background thread; returns self. An emulator cannot be restarted after stop()."""
        if self._server is not None:
            return self
        if self.endpoint:
            raise RuntimeError("a stopped AcsEmulator cannot be restarted; create a new one")
        self._tls = create_tls_material()
        self._server = TlsHttpServer((self.host, self.port), self._tls.server_context(), self)
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
        self.state.add_listener(self._on_transition)
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
        self.state.close()
        if self._dispatcher is not None:
            self._dispatcher.close()
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
        self, *, now: datetime | None = None, audience: str | None = None, issuer: str | None = None
    ) -> str:
        """A JWT exactly like the ones on state callbacks (signed with the published key).

        Overrides produce tokens that must be refused (``now`` in the past -> expired, another
        ``audience`` -> other resource), for testing webhook verification without a recording.
        """
        self._require_started()
        assert self._signer is not None
        return self._signer.token(now, audience=audience, issuer=issuer)

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
    ) -> Call:
        return self.state.create_call(
            participants,
            server_call_id=server_call_id,
            group_call_id=group_call_id,
            call_connection_id=call_connection_id,
        )

    def end_call(self, server_call_id: str) -> Call:
        return self.state.end_call(server_call_id)

    def recordings(self) -> list[RecordingSnapshot]:
        return self.state.recordings()

    def recording(self, recording_id: str) -> RecordingSnapshot:
        return self.state.recording(recording_id)

    def add_transition_listener(self, listener: TransitionListener) -> None:
        """Called (under the state lock, keep it quick) for every transition, including ``stopped``."""
        self.state.add_listener(listener)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

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
        self._routes.append(Route(method.upper(), re.compile(pattern), handler, auth, record))

    def authenticate(self, request: Request, *, signing_host: str | None = None) -> None:
        """Raise a 401 ApiError unless the request is HMAC-signed with this emulator's key."""
        self._recording_api.authenticate(request, signing_host=signing_host)

    def _register_builtin_routes(self) -> None:
        recording = self._recording_api
        self.add_route("POST", api.RECORDINGS_PATH.pattern, recording.start, auth="hmac")
        self.add_route("GET", api.RECORDING_PATH.pattern, recording.get, auth="hmac")
        self.add_route("DELETE", api.RECORDING_PATH.pattern, recording.stop, auth="hmac")
        self.add_route("POST", api.RECORDING_ACTION_PATH.pattern, recording.action, auth="hmac")
        self.add_route("GET", re.escape(OPENID_CONFIGURATION_PATH), self._openid_configuration, auth="none")
        self.add_route("GET", re.escape(JWKS_PATH), self._jwks, auth="none")

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

    # -- Application protocol (called by the HTTP layer) ----------------------------------------------
    def _match(self, request: Request) -> tuple[Route, re.Match[str]]:
        allowed: list[str] = []
        for route in self._routes:
            found = route.pattern.fullmatch(request.path)
            if found is None:
                continue
            if route.method == request.method or (route.method == "GET" and request.method == "HEAD"):
                return route, found
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "MethodNotAllowed",
                f"Method {request.method} is not allowed here.",
                headers=[("Allow", ", ".join(sorted(set(allowed))))],
            )
        raise ApiError(404, "NotFound", "The requested resource was not found.")

    def handle(self, request: Request) -> Response:
        route, found = self._match(request)
        if route.auth == "hmac":
            self.authenticate(request)
        elif route.auth == "admin":
            require_loopback_peer(request)
        return route.handler(request, found)

    def finalize(self, request: Request, response: Response) -> None:
        """Add the headers every real response carries and keep the request for tests."""
        response.headers.append(("api-supported-versions", api.SUPPORTED_API_VERSIONS))
        response.headers.append(
            ("MS-CV", base64.b64encode(secrets.token_bytes(16)).decode("ascii")[:22] + ".0")
        )
        if response.header("X-Microsoft-Skype-Chain-ID") is None:
            response.headers.append(("X-Microsoft-Skype-Chain-ID", str(uuid.uuid4())))
        client_request_id = request.header("x-ms-client-request-id")
        if client_request_id is not None:
            response.headers.append(("x-ms-client-request-id", client_request_id))
        if request.path.startswith("/admin/") or request.path == "/admin":
            return
        with self._requests_lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    target=request.target,
                    headers=redact_headers(request.headers),
                    body=request.body,
                    status=response.status,
                    at=datetime.now(timezone.utc),
                )
            )

    # -- callbacks --------------------------------------------------------------------------------
    def _on_transition(self, snapshot: RecordingSnapshot, change: StateChange) -> None:
        if change.state == "stopped" or not snapshot.callback_uri or self._dispatcher is None:
            return
        event = build_state_changed_event(snapshot, change)
        self._dispatcher.submit(snapshot.recording_id, snapshot.callback_uri, [event])


__all__ = ["AcsEmulator", "ApiError", "Call", "RecordingSnapshot", "StartRecordingOptions"]
