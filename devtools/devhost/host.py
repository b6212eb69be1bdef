"""The local host: the Functions host's HTTP front, webhooks, timers and admin API around the worker.

The app runs in the Python worker (`devtools.pyworker`, the worker's own code on Python 3.13); this
process does what the Functions host does around it, following the host's public source where it
is public (each module cites it): routing and keys, the request the worker receives and the response
written from the worker's answer (`http_binding.py`), the Event Grid webhook (`eventgrid.py`), timers
(`timers.py`) and `POST /admin/functions/{name}`. What is still imitated is listed in
docs/local-development.md.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.devhost.eventgrid import MAX_DELIVERY_BYTES, handle_delivery, trigger_data, trigger_metadata
from devtools.devhost.http_binding import (
    HttpAnswer,
    header_values,
    http_answer,
    query_values,
    request_path,
    rpc_http_request,
)
from devtools.devhost.routes import HttpRoute, http_routes
from devtools.devhost.timers import ScheduleError, TimerListeners, timer_functions, timer_trigger_data
from devtools.http_server import BodyError, LoopbackHttpServer, read_body
from devtools.pyworker.channel import FunctionMetadata, InvocationResult, WorkerGoneError, WorkerProcess
from devtools.pyworker.wire import TypedData

log = logging.getLogger("devhost")
MAX_BODY = 100 * 1024 * 1024  # the Functions host's own request size limit (Kestrel's MaxRequestBodySize)
ADMIN_FUNCTIONS = "/admin/functions/"
EVENT_GRID_WEBHOOK = "/runtime/webhooks/eventgrid"


class IndexingError(Exception):
    """function_app.py could not be loaded by the worker, or its timers cannot be scheduled."""


def load_local_settings(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    """Copy `Values` from local.settings.json into the environment; real env vars win."""
    import os

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


class DevHost:
    """Serves the app loaded in `worker` on a loopback port, and runs its timers."""

    def __init__(
        self,
        worker: WorkerProcess,
        *,
        host: str = "127.0.0.1",
        port: int = 7071,
        function_key: str | None = None,
        master_key: str | None = None,
        durable_client: Callable[[], str] | None = None,
        run_timers: bool = True,
    ) -> None:
        self.worker = worker
        self.functions: dict[str, FunctionMetadata] = worker.functions
        self.routes = http_routes(self.functions.values())
        self.durable_client = durable_client
        self.function_key = function_key or secrets.token_urlsafe(24)
        self.master_key = master_key or secrets.token_urlsafe(32)
        try:
            timers = timer_functions(self.functions, worker.environ)
        except ScheduleError as error:
            raise IndexingError(str(error)) from error
        self.timers = TimerListeners(timers, self._run_timer) if run_timers else None
        self._server = LoopbackHttpServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> DevHost:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="devhost", daemon=True
        )
        self._thread.start()
        if self.timers is not None:
            self.timers.start()
        return self

    def serve_forever(self) -> None:
        if self.timers is not None:
            self.timers.start()
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self.timers is not None:
            self.timers.stop()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> DevHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what it serves
    def describe(self) -> list[str]:
        lines = ["Functions:"]
        for route in sorted(self.routes, key=lambda r: r.function_name):
            methods = ",".join(sorted(route.methods))
            lines.append(f"  {route.function_name}: [{methods}] {self.base_url}/api/{route.template}")
        for name, function in sorted(self.functions.items()):
            kind = function.trigger_type
            if kind == "eventGridTrigger":
                # The key itself is printed once, and only when generated: this list is logged.
                url = self.event_grid_url(name).replace(self.function_key, "<function key>")
                lines.append(f"  {name}: eventGridTrigger {url}")
            elif kind == "timerTrigger":
                schedule = function.trigger.get("schedule")
                lines.append(
                    f"  {name}: timerTrigger ({schedule}, UTC; POST {self.base_url}{ADMIN_FUNCTIONS}{name})"
                )
            elif kind != "httpTrigger":
                lines.append(f"  {name}: {kind}")
        return lines

    def event_grid_url(self, function_name: str) -> str:
        """The webhook to subscribe, as Core Tools serves it (the key plays the system key's part)."""
        query = f"functionName={function_name}&code={self.function_key}"
        return f"{self.base_url}{EVENT_GRID_WEBHOOK}?{query}"

    # -- keys (the host's AuthorizationLevel: the master key passes every level)
    def _key_is(self, given: str, *keys: str) -> bool:
        return any(hmac.compare_digest(given.encode(), key.encode()) for key in keys)

    def authorized(self, route: HttpRoute, given: str) -> bool:
        if route.auth_level == "anonymous":
            return True
        if route.auth_level == "admin":
            return self._key_is(given, self.master_key)
        return self._key_is(given, self.function_key, self.master_key)

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

    # -- invocations
    def submit(
        self, function: FunctionMetadata, trigger: TypedData, metadata: Mapping[str, TypedData] | None = None
    ) -> Future[InvocationResult]:
        """Invoke `function` with its trigger value and every Durable client binding it declares."""
        inputs: list[tuple[str, TypedData]] = [(str(function.trigger["name"]), trigger)]
        clients = function.input_bindings("durableClient")
        if clients:
            if self.durable_client is None:
                failed: Future[InvocationResult] = Future()
                failed.set_result(
                    InvocationResult(ok=False, error=f"{function.name} needs a Durable client, and none runs")
                )
                return failed
            inputs += [(name, {"string": self.durable_client()}) for name in clients]
        invocation_id = str(uuid.uuid4())
        started = time.perf_counter()
        log.info("Executing 'Functions.%s' (Id=%s)", function.name, invocation_id)
        answered: Future[InvocationResult] = Future()  # completed once the outcome is logged

        def executed(done: Future[InvocationResult]) -> None:
            elapsed = (time.perf_counter() - started) * 1000
            try:
                result = done.result()
            except WorkerGoneError as gone:
                log.error("Executed 'Functions.%s' (Failed, Id=%s): %s", function.name, invocation_id, gone)
                answered.set_exception(gone)
                return
            if result.ok:
                log.info(
                    "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)",
                    function.name,
                    invocation_id,
                    elapsed,
                )
            else:
                log.error(
                    "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms): %s",
                    function.name,
                    invocation_id,
                    elapsed,
                    result.exception_text,
                )
            answered.set_result(result)

        self.worker.submit(function.name, inputs, metadata).add_done_callback(executed)
        return answered

    def invoke(
        self, function: FunctionMetadata, trigger: TypedData, metadata: Mapping[str, TypedData] | None = None
    ) -> InvocationResult:
        try:
            return self.submit(function, trigger, metadata).result()
        except WorkerGoneError as gone:
            return InvocationResult(ok=False, error=str(gone))

    def _run_timer(
        self, name: str, info: dict[str, Any], metadata: dict[str, Any]
    ) -> Future[InvocationResult]:
        return self.submit(
            self.functions[name],
            timer_trigger_data(info),
            {"TimerTrigger": {"string": metadata["TimerTrigger"]}},
        )

    def admin_invoke(self, function: FunctionMetadata, given_input: str | None) -> None:
        """FunctionsController.Invoke (azure-functions-host): the trigger's binding turns the string
        input into its value; the call runs in the background after the 202."""
        kind = function.trigger_type
        failure: str | None = None
        trigger: TypedData | None = None
        if kind == "timerTrigger":
            # TimerTriggerBinding.BindAsync: the input is ignored; TimerInfo with the schedule's status.
            timer = self.timers.timers.get(function.name) if self.timers else None
            info = (
                timer.timer_info() if timer else {"Schedule": {}, "ScheduleStatus": None, "IsPastDue": False}
            )
            trigger = timer_trigger_data(info)
        elif kind == "eventGridTrigger":
            # The extension's DirectInvokeString converter: JToken.Parse(input), bound as one event.
            try:
                event = json.loads(given_input or "")
            except ValueError:
                event = None
            if isinstance(event, dict):
                trigger = trigger_data(event)
            else:
                failure = "the input is not a JSON object (an Event Grid event)"
        elif kind == "activityTrigger":
            # ActivityTriggerAttributeBindingProvider.BindAsync: a string is the serialized input.
            try:
                json.loads(given_input or "")
                trigger = {"json": given_input}
            except ValueError:
                failure = "the input is not JSON (the activity's serialized input)"
        elif kind == "httpTrigger":
            failure = "An HttpRequest is required"  # HttpTriggerAttributeBindingProvider.BindAsync
        else:
            # OrchestrationTriggerAttributeBindingProvider: "Don't know how to bind to String."
            failure = "Don't know how to bind to String."
        reason = "This function was programmatically called via the host APIs."
        log.info("Executing 'Functions.%s' (Reason='%s')", function.name, reason)
        if trigger is None:
            log.error("Executed 'Functions.%s' (Failed): %s", function.name, failure)
            return
        self.submit(function, trigger)


def _handler_for(host: DevHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "devhost"

        def _dispatch(self) -> None:
            target = urlsplit(self.path)
            try:
                if target.path.rstrip("/") == EVENT_GRID_WEBHOOK:
                    self._event_grid(target.query)
                elif target.path.startswith(ADMIN_FUNCTIONS):
                    self._admin(target.path[len(ADMIN_FUNCTIONS) :], target.query)
                elif target.path.startswith("/api/"):
                    self._api(target.path, target.query)
                else:
                    self._reply(HttpAnswer(404))
            except BodyError as error:
                self._reply(HttpAnswer(error.status), close=True)

        def _key(self, query: Mapping[str, str]) -> str:
            return self.headers.get("x-functions-key") or query.get("code", "")

        def _api(self, raw_path: str, raw_query: str) -> None:
            body = read_body(self.rfile, self.headers, MAX_BODY)
            query = query_values(raw_query)
            path = request_path(raw_path)
            route, route_params, exists = host.find(self.command, path[len("/api/") :].strip("/"))
            if route is None:
                self._reply(HttpAnswer(405 if exists else 404))
                return
            if not host.authorized(route, self._key(_folded(query))):
                log.info("Refused %s %s: missing or wrong function key", self.command, raw_path)
                self._reply(HttpAnswer(401))
                return
            http = rpc_http_request(
                method=self.command,
                url=f"http://{self.headers.get('host', f'127.0.0.1:{host.port}')}{path}"
                + (f"?{raw_query}" if raw_query else ""),
                headers=header_values(self.headers.items()),
                query=query,
                route_params=route_params,
                body=body,
            )
            result = host.invoke(host.functions[route.function_name], http)
            # A failed invocation is the host's 500 with no body (ExceptionMiddleware).
            self._reply(http_answer(result.return_value) if result.ok else HttpAnswer(500))

        def _event_grid(self, raw_query: str) -> None:
            declared = (self.headers.get("content-length") or "0").strip()
            if declared.isdigit() and int(declared) > MAX_DELIVERY_BYTES:
                self._reply(HttpAnswer(413), close=True)  # the body stays unread: nothing else may follow
                return
            body = read_body(self.rfile, self.headers, MAX_DELIVERY_BYTES)
            query = _folded(query_values(raw_query))
            if self.command not in ("GET", "PUT", "POST", "DELETE", "OPTIONS"):
                self._reply(HttpAnswer(405))  # HostController.ExtensionWebHookHandler's verbs
                return
            if not host._key_is(self._key(query), host.function_key, host.master_key):
                self._reply(HttpAnswer(401))
                return
            name = query.get("functionname", "")
            function = host.functions.get(name)
            if function is None or function.trigger_type != "eventGridTrigger":
                # EventGridExtensionConfigProvider.ProcessAsync
                text = f"cannot find function: '{name}'".encode()
                self._reply(HttpAnswer(404, [("Content-Type", "text/plain; charset=utf-8")], text))
                return
            event_types = self.headers.get_all("aeg-event-type") or []
            answer = handle_delivery(
                name,
                self.command,
                event_types[0] if event_types else None,
                {k.lower(): v for k, v in self.headers.items()},
                body,
                lambda event: host.submit(function, trigger_data(event), trigger_metadata(event)),
            )
            if answer.status == 200 and answer.body:
                log.info("perform handshake with eventGrid for function: %s", name)
            self._reply(answer)

        def _admin(self, name: str, raw_query: str) -> None:
            body = read_body(self.rfile, self.headers, MAX_BODY)
            if self.command != "POST" or "/" in name.strip("/"):
                self._reply(HttpAnswer(404))
                return
            if not host._key_is(self._key(_folded(query_values(raw_query))), host.master_key):
                self._reply(HttpAnswer(401))  # [Authorize(Policy = PolicyNames.AdminAuthLevel)]
                return
            media = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                self._reply(HttpAnswer(415))  # [FromBody] has only JSON input formatters
                return
            try:
                invocation = json.loads(body)
            except ValueError:
                invocation = None
            if not isinstance(invocation, dict):
                self._reply(HttpAnswer(400))  # `if (invocation == null) return BadRequest();`
                return
            function = next(
                (f for f in host.functions.values() if f.name.lower() == name.strip("/").lower()), None
            )
            if function is None:
                self._reply(HttpAnswer(404))
                return
            given = invocation.get("input")
            self._reply(HttpAnswer(202))
            host.admin_invoke(function, given if isinstance(given, str) else None)

        def _reply(self, answer: HttpAnswer, *, close: bool = False) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                    self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")  # also makes the server close the connection
            if answer.status not in (204, 304):
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD" and answer.status not in (204, 304):
                self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


def _folded(query: Mapping[str, str]) -> dict[str, str]:
    """Query names compared case-insensitively, as the host's QueryCollection does."""
    return {name.lower(): value for name, value in query.items()}


def start_worker(app_dir: Path, *, emulator_dns_port: int | None = None) -> WorkerProcess:
    """The app in the Python worker; a refusal of the worker's indexing is an IndexingError."""
    from devtools.pyworker.channel import WorkerStartError

    try:
        return WorkerProcess(app_dir, emulator_dns_port=emulator_dns_port).start()
    except WorkerStartError as error:
        raise IndexingError(str(error)) from error
