"""The host's side of the Python worker: start it, invoke functions in it, show its logs.

`WorkerProcess(app_dir).start()` starts `python -m devtools.pyworker` with the interpreter that has
the pinned `azure-functions-runtime` (`.venv-worker`, or `WORKER_PYTHON`), waits for the worker's
init (its indexing of the app: a refusal raises `WorkerStartError` with the worker's own message)
and then answers `invoke(...)` from any thread; invocations run concurrently in the worker.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.processes import die_with
from devtools.pyworker.wire import Channel, ChannelClosedError, Message, TypedData

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WORKER_PYTHON = REPO / ".venv-worker" / "bin" / "python"
INIT_TIMEOUT = 120.0
FORWARDED_LEVELS = ("", "azure", "urllib3")  # the root logger and the chatty SDK loggers

log = logging.getLogger("devhost.worker")


class WorkerStartError(Exception):
    """The worker could not start, or its init (indexing the app) failed; the message says why."""


class WorkerGoneError(Exception):
    """The worker process ended while an invocation waited for it."""


def worker_python() -> Path:
    """The interpreter with azure-functions-runtime: `WORKER_PYTHON`, else `.venv-worker`."""
    configured = os.environ.get("WORKER_PYTHON")
    return Path(configured) if configured else DEFAULT_WORKER_PYTHON


@dataclass(frozen=True)
class FunctionMetadata:
    """A function as the worker indexed it: its id and raw bindings (what the host receives)."""

    name: str
    function_id: str
    bindings: tuple[dict[str, Any], ...]

    @property
    def trigger(self) -> dict[str, Any]:
        return next((b for b in self.bindings if str(b.get("type", "")).endswith("Trigger")), {})

    @property
    def trigger_type(self) -> str:
        return str(self.trigger.get("type", ""))

    def input_bindings(self, kind: str) -> list[str]:
        """Names of the IN bindings of this type (e.g. every `durableClient`)."""
        return [
            str(b["name"])
            for b in self.bindings
            if b.get("type") == kind and str(b.get("direction", "")).upper() == "IN"
        ]


@dataclass
class InvocationResult:
    """What the worker answered: success, the encoded return value, or the exception text."""

    ok: bool
    return_value: TypedData | None = None
    outputs: list[tuple[str, TypedData]] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None

    @property
    def exception_text(self) -> str:
        """The raised exception as `Type: message` (the last block of the traceback)."""
        return exception_text(self.traceback or "") or (self.error or "")


def exception_text(formatted: str) -> str:
    """`ExceptionType: message` (message lines included) from a formatted traceback."""
    lines = formatted.rstrip("\n").split("\n")
    start = max((i for i, line in enumerate(lines) if line.startswith("Traceback (")), default=-1)
    body = lines[start + 1 :]
    first = next((i for i, line in enumerate(body) if line and not line.startswith(" ")), None)
    return "" if first is None else "\n".join(body[first:])


class WorkerProcess:
    def __init__(
        self,
        app_dir: Path,
        *,
        emulator_dns_port: int | None = None,
        environ: Mapping[str, str] | None = None,
        python: Path | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.emulator_dns_port = emulator_dns_port
        self.environ = dict(os.environ if environ is None else environ)
        self.python = python or worker_python()
        self.functions: dict[str, FunctionMetadata] = {}
        self.runtime_version = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: Channel | None = None
        self._pending: dict[str, Future[InvocationResult]] = {}
        self._lock = threading.Lock()
        self._init: Future[Message] = Future()
        self._gone = False

    # -- lifecycle
    def start(self) -> WorkerProcess:
        if not self.python.exists():
            raise WorkerStartError(
                f"the Functions Python worker is not installed ({self.python} is missing): run `make setup`, "
                "or set WORKER_PYTHON to a Python 3.13 with azure-functions-runtime"
            )
        host_end, worker_end = socket.socketpair()
        argv = [
            str(self.python),
            "-m",
            "devtools.pyworker",
            "--app-dir",
            str(self.app_dir),
            "--channel-fd",
            str(worker_end.fileno()),
        ]
        for name in FORWARDED_LEVELS:  # the worker logs only what this host's logging would keep
            argv += ["--log-level", f"{name}={logging.getLogger(name).getEffectiveLevel()}"]
        if self.emulator_dns_port is not None:
            argv += ["--emulator-dns", str(self.emulator_dns_port)]
        path = os.pathsep.join(filter(None, [str(REPO), self.environ.get("PYTHONPATH", "")]))
        parent = os.getpid()
        self._process = subprocess.Popen(
            argv,
            cwd=self.app_dir,
            env={**self.environ, "PYTHONPATH": path},
            stdin=subprocess.DEVNULL,
            pass_fds=(worker_end.fileno(),),
            preexec_fn=lambda: die_with(parent),  # the worker dies with its host, kill -9 included
        )
        worker_end.close()
        self._channel = Channel(host_end)
        threading.Thread(target=self._read, name="devhost-worker-reader", daemon=True).start()
        try:
            init = self._init.result(timeout=INIT_TIMEOUT)
        except TimeoutError:
            self.stop()
            raise WorkerStartError(
                f"the Python worker did not finish its init in {INIT_TIMEOUT:.0f} s"
            ) from None
        if init.get("error"):
            self.stop()
            raise WorkerStartError(f"the Python worker cannot load the app: {init['error']}")
        self.runtime_version = str(init.get("runtime", ""))
        self.functions = {
            entry["name"]: FunctionMetadata(entry["name"], entry["function_id"], tuple(entry["bindings"]))
            for entry in init["functions"]
        }
        log.info(
            "Python worker %s (Python %s) loaded %d functions",
            self.runtime_version,
            init.get("python", "?"),
            len(self.functions),
        )
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if self._channel is not None:
            self._channel.close()
        if process is not None:
            try:
                process.wait(timeout=10)  # it ends on its own when the channel closes
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- invocations
    def submit(
        self,
        function_name: str,
        inputs: Iterable[tuple[str, TypedData]],
        trigger_metadata: Mapping[str, TypedData] | None = None,
    ) -> Future[InvocationResult]:
        """Send one invocation; the future completes with the worker's answer."""
        future: Future[InvocationResult] = Future()
        function = self.functions.get(function_name)
        if function is None:
            future.set_result(InvocationResult(ok=False, error=f"function {function_name} is not loaded"))
            return future
        invocation_id = str(uuid.uuid4())
        with self._lock:
            if self._gone or self._channel is None:
                future.set_exception(WorkerGoneError("the Python worker is not running"))
                return future
            self._pending[invocation_id] = future
        message = {
            "type": "invoke",
            "id": invocation_id,
            "function_id": function.function_id,
            "inputs": [[name, typed] for name, typed in inputs],
            "trigger_metadata": dict(trigger_metadata or {}),
        }
        try:
            self._channel.send(message)
        except ChannelClosedError:
            with self._lock:
                self._pending.pop(invocation_id, None)
            future.set_exception(WorkerGoneError("the Python worker is not running"))
        return future

    def invoke(
        self,
        function_name: str,
        inputs: Iterable[tuple[str, TypedData]],
        trigger_metadata: Mapping[str, TypedData] | None = None,
    ) -> InvocationResult:
        return self.submit(function_name, inputs, trigger_metadata).result()

    # -- the reader thread
    def _read(self) -> None:
        assert self._channel is not None
        while True:
            try:
                message = self._channel.receive()
            except ChannelClosedError:
                break
            kind = message.get("type")
            if kind == "log":
                _relay(message)
            elif kind == "result":
                with self._lock:
                    future = self._pending.pop(str(message.get("id")), None)
                if future is not None:
                    future.set_result(
                        InvocationResult(
                            ok=bool(message.get("ok")),
                            return_value=message.get("return"),
                            outputs=[(name, typed) for name, typed in message.get("outputs") or []],
                            error=message.get("error"),
                            traceback=message.get("traceback"),
                        )
                    )
            elif kind == "init" and not self._init.done():
                self._init.set_result(message)
        self._closed()

    def _closed(self) -> None:
        with self._lock:
            self._gone = True
            pending, self._pending = self._pending, {}
        if not self._init.done():
            code = self._process.wait() if self._process is not None else None
            self._init.set_result({"error": f"the worker process ended (exit code {code}) before its init"})
        elif self._process is not None:
            log.error("The Python worker process ended; invocations fail until the host restarts")
        for future in pending.values():
            future.set_exception(WorkerGoneError("the Python worker process ended during the invocation"))


def _relay(message: Message) -> None:
    """A worker log record, logged here under its own logger name (the host's levels decide)."""
    logger = logging.getLogger(str(message.get("name") or "worker"))
    level = int(message.get("level") or logging.INFO)
    if logger.isEnabledFor(level):
        logger.log(level, "%s", message.get("message", ""))
