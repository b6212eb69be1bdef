"""The subset of the Durable HTTP API that ``DurableOrchestrationClient`` calls, on loopback.

Served under both ``/durabletask/`` (``rpcBaseUrl``, what the Python client uses) and
``/runtime/webhooks/durabletask/`` (the management URLs handed out by ``create_check_status_response``).

Status codes follow what ``azure.durable_functions.models.DurableOrchestrationClient`` expects:
start 202 + management payload (400 + ``ExceptionMessage`` for an unknown orchestrator); status 200
(done) / 202 (Pending, Running, ContinuedAsNew) / 404; raise event 202 / 404 / 410; terminate 202 / 410 /
404; purge 200 ``{"instancesDeleted": n}`` / 404; list 200.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.durable.history import parse_time
from devtools.durable.store import COMPLETED, FAILED, TERMINATED, InstanceExistsError
from devtools.http_server import LoopbackHttpServer


class DurableApi(Protocol):
    """What the HTTP API needs from the engine (the engine passes itself; this module never imports it)."""

    @property
    def orchestrators(self) -> Collection[str]: ...

    def start_new(
        self,
        orchestrator_name: str,
        instance_id: str | None = None,
        input: Any = None,
        *,
        serialized_input: str | None = None,
    ) -> str: ...

    def raise_event(
        self, instance_id: str, event_name: str, event_data: Any = None, *, serialized: str | None = None
    ) -> str: ...

    def terminate(self, instance_id: str, reason: str = "") -> str: ...

    def purge(self, instance_id: str) -> bool: ...

    def get_status(
        self, instance_id: str, *, show_history: bool = False, show_input: bool = True
    ) -> dict[str, Any] | None: ...

    def list_statuses(self) -> list[dict[str, Any]]: ...

    def management_payload(self, instance_id: str) -> dict[str, str]: ...


PREFIXES = ("/runtime/webhooks/durabletask/", "/durabletask/")


def _flag(query: dict[str, list[str]], key: str, default: bool) -> bool:
    values = query.get(key)
    return default if not values else values[0].lower() == "true"


def _time(value: str) -> datetime:
    return parse_time(value.replace(" ", "+"))


class _Handler(BaseHTTPRequestHandler):
    engine: DurableApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing
    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> str | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        return raw if raw.strip() else None

    def _route(self) -> tuple[list[str], dict[str, list[str]]] | None:
        parts = urlsplit(self.path)
        for prefix in PREFIXES:
            if parts.path.startswith(prefix):
                rest = parts.path[len(prefix) :]
                return [unquote(p) for p in rest.split("/")], parse_qs(parts.query)
        return None

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body = self._body() if method in ("POST", "DELETE") else None
        route = self._route()
        if route is None:
            self._reply(404, "Not found")
            return
        segments, query = route
        try:
            self._handle(method, segments, query, body)
        except Exception as exc:  # the extension answers unexpected failures with 500 + exception JSON
            self._reply(500, _exception_body(exc))

    # -- API
    def _handle(self, method: str, seg: list[str], query: dict[str, list[str]], body: str | None) -> None:
        engine = self.engine
        if seg[0] == "orchestrators" and method == "POST" and len(seg) >= 2:
            self._start(seg[1], seg[2] if len(seg) > 2 and seg[2] else None, body)
            return
        if seg[0] != "instances":
            self._reply(404, "Not found")
            return
        instance_id = seg[1] if len(seg) > 1 and seg[1] else None
        if instance_id is None and method == "GET":
            self._reply(200, self._query(query))
            return
        if instance_id is None and method == "DELETE":
            deleted = 0
            for status in self._query(query):
                deleted += int(engine.purge(status["instanceId"]))
            self._reply(200 if deleted else 404, {"instancesDeleted": deleted})
            return
        assert instance_id is not None
        if method == "GET" and len(seg) == 2:
            found = engine.get_status(
                instance_id,
                show_history=_flag(query, "showHistory", False),
                show_input=_flag(query, "showInput", True),
            )
            if found is None:
                # UNVERIFIED body: the client parses it with DurableOrchestrationStatus.from_json, which turns
                # a JSON string into a falsy status (SDK's "singleton" pattern), so a string it is.
                self._reply(404, f"No instance with ID '{instance_id}' found.")
                return
            status = found
            status.pop("history", None)
            if not _flag(query, "showHistoryOutput", False):
                for evt in status.get("historyEvents", []):
                    evt.pop("Result", None)
            runtime = status["runtimeStatus"]
            if runtime in (COMPLETED, TERMINATED):
                code = 200
            elif runtime == FAILED:
                code = 500 if _flag(query, "returnInternalServerErrorOnFailure", False) else 200
            else:
                code = 202
            self._reply(code, status)
            return
        if method == "DELETE" and len(seg) == 2:
            deleted = engine.purge(instance_id)
            self._reply(200 if deleted else 404, {"instancesDeleted": int(deleted)})
            return
        if method == "POST" and len(seg) >= 4 and seg[2] == "raiseEvent":
            outcome = engine.raise_event(instance_id, seg[3], serialized=_unwrap(body) or "null")
            self._reply({"ok": 202, "missing": 404, "gone": 410}[outcome], None)
            return
        if method == "POST" and len(seg) == 3 and seg[2] == "terminate":
            reason = (query.get("reason") or [""])[0]
            outcome = engine.terminate(instance_id, reason)
            self._reply({"ok": 202, "missing": 404, "gone": 410}[outcome], None)
            return
        self._reply(501, f"devtools.durable does not implement {method} {'/'.join(seg)}")

    def _start(self, name: str, instance_id: str | None, body: str | None) -> None:
        engine = self.engine
        # The Python client posts json=<df_dumps(input)>: the body is a JSON *string* holding the input's
        # JSON; the orchestrator receives that inner text (get_input() decodes it).
        serialized = _unwrap(body)
        if name not in engine.orchestrators:
            message = (
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator function. "
                "Additional info: The following are the known orchestrator functions: "
                + ", ".join(f"'{n}'" for n in sorted(engine.orchestrators))
                + "."
            )
            self._reply(
                400,
                {
                    "Message": "One or more of the arguments submitted is incorrect",
                    "ExceptionMessage": message,
                    "ExceptionType": "System.ArgumentException",
                    "StackTrace": "",
                },
            )
            return
        try:
            new_id = engine.start_new(name, instance_id, serialized_input=serialized)
        except InstanceExistsError as exc:
            # Found (azure-functions-durable-python issue #410): with NonRunningStates the Python client
            # raises Exception(<dict>) with Message "Something went wrong while processing your request",
            # ExceptionMessage "An Orchestration instance with the status Pending already exists.",
            # ExceptionType System.InvalidOperationException (thrown by DurableTask.AzureStorage's
            # CreateTaskOrchestrationAsync). The client took its catch-all branch, so the status was
            # neither <= 202 nor 400. UNVERIFIED: that the status code is exactly 500 (the HTTP API
            # handler's generic failure response).
            self._reply(500, _exception_body(exc, "System.InvalidOperationException"))
            return
        payload = engine.management_payload(new_id)
        self._reply(202, payload, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    def _query(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        statuses = self.engine.list_statuses()
        wanted = set(",".join(query.get("runtimeStatus", [])).split(",")) - {""}
        prefix = (query.get("instanceIdPrefix") or [""])[0]
        after = _time(query["createdTimeFrom"][0]) if "createdTimeFrom" in query else None
        before = _time(query["createdTimeTo"][0]) if "createdTimeTo" in query else None
        result = []
        for status in statuses:
            created = parse_time(status["createdTime"])
            if wanted and status["runtimeStatus"] not in wanted:
                continue
            if prefix and not status["instanceId"].startswith(prefix):
                continue
            if after is not None and created < after.replace(microsecond=0):
                continue
            if before is not None and created > before:
                continue
            result.append(status)
        return result


def _unwrap(body: str | None) -> str | None:
    """The Python client posts ``json=json.dumps(value)``: a JSON string token wrapping the JSON.

    The SDK decodes ``Input`` once (``df_loads``) and gets ``value`` back in the real host, so the
    string token is unwrapped once here. (UNVERIFIED where exactly the extension does this.)
    """
    if body is None:
        return None
    token = json.loads(body)
    return token if isinstance(token, str) else json.dumps(token)


def _exception_body(exc: Exception, exception_type: str | None = None) -> dict[str, str]:
    return {
        "Message": "Something went wrong while processing your request",
        "ExceptionMessage": str(exc),
        "ExceptionType": exception_type or f"Python.{type(exc).__name__}",
        "StackTrace": "",
    }


def serve(engine: DurableApi, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("DurableApiHandler", (_Handler,), {"engine": engine})
    server = LoopbackHttpServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="durable-http", daemon=True).start()
    return server
