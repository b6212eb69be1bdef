"""The local host: index the app, then serve its HTTP triggers like `func start`."""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from devtools.devhost.eventgrid import (
    MAX_DELIVERY_BYTES,
    EventGridRequestError,
    parse_delivery,
    to_trigger_value,
    validation_response,
)
from devtools.devhost.invoke import binding_types, call_function
from devtools.devhost.routes import HttpRoute, http_routes
from devtools.devhost.worker_check import WorkerRefusedError, require_worker_accepts
from devtools.http_server import LoopbackHttpServer

log = logging.getLogger("devhost")
MAX_BODY = 100 * 1024 * 1024  # the Functions host's own request size limit


class IndexingError(Exception):
    """function_app.py could not be imported or indexed."""


def load_local_settings(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Copy `Values` from local.settings.json into the environment; real env vars win."""
    target = os.environ if environ is None else environ
    if not path.exists():
        return []
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    applied = []
    for name, value in values.items():
        if name not in target and isinstance(value, str) and not name.startswith("_"):
            target[name] = value
            applied.append(name)
    return applied


def index_app(module: str = "function_app", *, worker_check: bool = True) -> list[Any]:
    """The app's functions, once the real Python worker's indexer has accepted every one of them
    (`worker_check=False` only where a caller has made that check itself)."""
    try:
        imported = __import__(module)
        functions = list(imported.app.get_functions())
    except Exception as error:  # any import-time failure is the user's to fix: say what it was
        raise IndexingError(f"cannot index {module}.py: {type(error).__name__}: {error}") from error
    if worker_check:
        try:
            require_worker_accepts(Path(imported.__file__ or "function_app.py").resolve().parent)
        except WorkerRefusedError as error:
            raise IndexingError(str(error)) from error
    return functions


def _needs_client(function: Any) -> bool:
    return "durableClient" in binding_types(function).values()


class DevHost:
    """Serves the HTTP triggers of an indexed app on a loopback port."""

    def __init__(
        self,
        functions: list[Any],
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
        function_key: str | None = None,
        durable_client: Callable[[], str] | None = None,
    ) -> None:
        self.routes = http_routes(functions)
        self.functions = {function.get_function_name(): function for function in functions}
        self.durable_client = durable_client
        self.function_key = function_key or secrets.token_urlsafe(24)
        self._server = LoopbackHttpServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> DevHost:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="devhost", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def describe(self) -> list[str]:
        lines = ["Functions:"]
        for route in sorted(self.routes, key=lambda r: r.function_name):
            methods = ",".join(sorted(route.methods))
            lines.append(f"  {route.function_name}: [{methods}] {self.base_url}/api/{route.template}")
        for name, function in sorted(self.functions.items()):
            kind = function.get_trigger().type
            if kind == "eventGridTrigger":
                # The key itself is printed once, and only when generated: this list is logged.
                url = self.event_grid_url(name).replace(self.function_key, "<function key>")
                lines.append(f"  {name}: eventGridTrigger {url}")
            elif kind != "httpTrigger":
                lines.append(f"  {name}: {kind}")
        return lines

    def event_grid_url(self, function_name: str) -> str:
        """The webhook to subscribe, as Core Tools serves it (the key plays the system key's part)."""
        query = f"functionName={function_name}&code={self.function_key}"
        return f"{self.base_url}/runtime/webhooks/eventgrid?{query}"

    def invoke(self, function: Any, trigger_value: Any) -> Any:
        client = self.durable_client() if self.durable_client and _needs_client(function) else None
        return call_function(function, trigger_value, durable_client=client)

    def authorized(self, route: HttpRoute, headers: Mapping[str, str], params: Mapping[str, str]) -> bool:
        if route.auth_level == "anonymous":
            return True
        given = headers.get("x-functions-key") or params.get("code") or ""
        return hmac.compare_digest(given.encode(), self.function_key.encode())

    def find(self, method: str, path: str) -> tuple[HttpRoute | None, dict[str, str], bool]:
        """The route for a path, its parameters, and whether the path exists under another method."""
        path_exists = False
        for route in self.routes:
            params = route.match(path)
            if params is None:
                continue
            if method in route.methods:
                return route, params, True
            path_exists = True
        return None, {}, path_exists


def _handler_for(host: DevHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "devhost"

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            if parts.path.rstrip("/") == "/runtime/webhooks/eventgrid":
                self._event_grid(dict(parse_qsl(parts.query)))
                return
            if not parts.path.startswith("/api/"):
                self._reply(404, b"")
                return
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            route, route_params, exists = host.find(
                self.command, unquote(parts.path[len("/api/") :]).strip("/")
            )
            length = self._content_length()
            if length is None:
                return
            if length > MAX_BODY:
                self._reply(413, b"", close=True)
                return
            body = self.rfile.read(length) if length else b""
            if route is None:
                self._reply(405 if exists else 404, b"")
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not host.authorized(route, headers, params):
                log.info("Refused %s %s: missing or wrong function key", self.command, parts.path)
                self._reply(401, b"")
                return
            request = func.HttpRequest(
                method=self.command,
                url=f"{host.base_url}{self.path}",
                headers=headers,
                params=params,
                route_params=route_params,
                body=body,
            )
            started = time.perf_counter()
            log.info("Executing 'Functions.%s'", route.function_name)
            try:
                response = host.invoke(host.functions[route.function_name], request)
            except Exception:
                log.exception("Executed 'Functions.%s' (Failed)", route.function_name)
                self._reply(500, b"")
                return
            elapsed = (time.perf_counter() - started) * 1000
            log.info(
                "Executed 'Functions.%s' (Succeeded, %.0f ms) -> %s",
                route.function_name,
                elapsed,
                response.status_code,
            )
            reply_headers = dict(response.headers)
            payload = response.get_body() or b""
            if payload and not any(name.lower() == "content-type" for name in reply_headers):
                reply_headers["Content-Type"] = f"{response.mimetype}; charset={response.charset}"
            self._reply(response.status_code, payload, reply_headers)

        def _content_length(self) -> int | None:
            """The declared body length; a malformed one gets 400 (and None): like the host, we
            never guess where a body ends."""
            raw = (self.headers.get("content-length") or "0").strip()
            if not raw.isdigit():
                self._reply(400, b"", close=True)
                return None
            return int(raw)

        def _event_grid(self, params: dict[str, str]) -> None:
            length = self._content_length()
            if length is None:
                return
            if length > MAX_DELIVERY_BYTES:
                self._reply(413, b"", close=True)  # the body stays unread: nothing else may follow
                return
            body = self.rfile.read(length)
            function = host.functions.get(params.get("functionName", ""))
            if (
                self.command != "POST"
                or function is None
                or function.get_trigger().type != "eventGridTrigger"
            ):
                self._reply(404, b"")
                return
            if not hmac.compare_digest(params.get("code", "").encode(), host.function_key.encode()):
                self._reply(401, b"")
                return
            try:
                events = parse_delivery(body)
                answer = validation_response(events)
            except EventGridRequestError as error:
                self._reply(400, str(error).encode())
                return
            if answer is not None or self.headers.get("aeg-event-type") == "SubscriptionValidation":
                log.info("Event Grid subscription validated for %s", function.get_function_name())
                self._reply(200, json.dumps(answer or {}).encode(), {"Content-Type": "application/json"})
                return
            name = function.get_function_name()
            for event in events:
                started = time.perf_counter()
                log.info("Executing 'Functions.%s' (event %s)", name, event.get("id"))
                try:
                    host.invoke(function, to_trigger_value(event))
                except Exception:
                    # A failed invocation answers 500, so Event Grid retries the delivery.
                    log.exception("Executed 'Functions.%s' (Failed)", name)
                    self._reply(500, b"")
                    return
                log.info(
                    "Executed 'Functions.%s' (Succeeded, %.0f ms)",
                    name,
                    (time.perf_counter() - started) * 1000,
                )
            self._reply(200, b"")

        def _reply(
            self, status: int, body: bytes, headers: dict[str, str] | None = None, *, close: bool = False
        ) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                    self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")  # also makes the server close the connection
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
