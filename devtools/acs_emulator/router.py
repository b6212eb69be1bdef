"""The emulator as the HTTP layer sees it: match a route, apply faults and authentication, call the
handler; then add the headers every real ACS answer carries and keep the request for tests."""

from __future__ import annotations

import base64
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from .admin_api import require_loopback_peer
from .faults import HTTP_FAULTS, FaultInjector, apply_body_faults, status_error
from .http_types import ApiError, RecordedRequest, Request, Response, Route, redact_headers
from .recording_api import SUPPORTED_API_VERSIONS

_BODY_FAULTS = frozenset({"bandwidth", "truncate", "reset"})
_HEAD_FAULTS = HTTP_FAULTS - _BODY_FAULTS


class Router:
    """The `Application` the TLS server calls (httpd.py)."""

    def __init__(self, faults: FaultInjector, authenticate: Callable[[Request], None]) -> None:
        self._faults = faults
        self._authenticate = authenticate
        self._routes: list[Route] = []
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def add(self, route: Route) -> None:
        self._routes.append(route)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

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
        admin = request.path == "/admin" or request.path.startswith("/admin/")
        rules = [] if admin else self._faults.take(_HEAD_FAULTS, request.method, request.path)
        for rule in rules:
            if rule.kind == "latency":
                time.sleep(rule.seconds)
        for rule in rules:
            if rule.kind == "status":
                raise status_error(rule)
        route, found = self._match(request)
        if route.auth == "hmac":
            self._authenticate(request)
        elif route.auth == "admin":
            require_loopback_peer(request)
        response = route.handler(request, found)
        if admin or 300 <= response.status < 400:
            return response  # a body fault is spent on a body, not on the redirect before it
        return apply_body_faults(response, self._faults.take(_BODY_FAULTS, request.method, request.path))

    def finalize(self, request: Request, response: Response) -> None:
        """Add the headers every real response carries and keep the request for tests."""
        response.headers.append(("api-supported-versions", SUPPORTED_API_VERSIONS))
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
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    method=request.method,
                    target=request.target,
                    headers=redact_headers(request.headers),
                    body=request.body,
                    status=response.status,
                    at=datetime.now(UTC),
                )
            )
