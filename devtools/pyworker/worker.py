"""The worker process: `function_app.py` loaded and invoked by azure-functions-runtime's own code.

    .venv-worker/bin/python -m devtools.pyworker --app-dir DIR --channel-fd FD [--emulator-dns PORT]

Started by the local host (`channel.py`), never by hand. What runs here is the worker's code, in
the order the real worker runs it at init and per invocation (`azure_functions_runtime.handle_event`
1.3.0, `worker_init_request` and `invocation_request`):

- init: `load_binding_registry()`, the thread pool (`start_threadpool_executor`, sized by
  `PYTHON_THREADPOOL_THREAD_COUNT` as on Azure), then `load_function_metadata(app_dir)`, which
  imports the app, indexes it and registers every function with the worker's checks; a refusal
  fails the init with the worker's own message, as it fails the worker on Azure;
- each invocation: `native_invocation.invocation_request_native` on the worker's one event loop
  (sync functions go to its thread pool): the worker's converters decode the inputs
  (`Datum.from_typed_data` on the host's TypedData), the return-value rule applies (a function
  without `$return` that returns a value fails), and the worker encodes the result
  (`datum_as_proto`, through the stand-in protobuf module `protos.py`).

Log records of the app, the SDKs and the worker go to the host over the channel, as RpcLog
messages do; `print` goes to this process's stdout, which is the host's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from devtools.pyworker import protos
from devtools.pyworker.wire import Channel, ChannelClosedError, Message, TypedData, data_bytes

# The worker's internal entry points this process calls, with the parameters it passes. They are
# not a public API: a new azure-functions-runtime may move them, and then the local host must stop
# with this list, not misbehave (tests/unit/test_worker_entry_points.py runs this check).
ENTRY_POINTS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "azure_functions_runtime.native_invocation": {
        "invocation_request_native": ("invocation_id", "function_id", "inputs", "trigger_metadata"),
    },
    "azure_functions_runtime.handle_event": {
        "load_function_metadata": ("function_app_directory", "caller_info"),
        "_functions": None,
        "_metadata_result": None,
        "protos": None,
    },
    "azure_functions_runtime.bindings.meta": {"load_binding_registry": ()},
    "azure_functions_runtime.bindings.datumdef": {
        "Datum.from_typed_data": ("protos",),
        "datum_as_proto": ("datum", "protos"),
    },
    "azure_functions_runtime.utils.threadpool": {"start_threadpool_executor": ()},
}


def moved_entry_points(import_module: Callable[[str], Any] = importlib.import_module) -> list[str]:
    """What of ENTRY_POINTS the installed worker no longer has where, and as, this process calls it."""
    problems: list[str] = []
    for module_name, names in ENTRY_POINTS.items():
        try:
            module = import_module(module_name)
        except ImportError as error:
            problems.append(f"{module_name}: cannot be imported ({error})")
            continue
        for name, parameters in names.items():
            found: Any = module
            for part in name.split("."):
                found = getattr(found, part, _MISSING)
            if found is _MISSING:
                problems.append(f"{module_name}.{name} is gone")
                continue
            if parameters is None:
                continue
            try:
                taken = tuple(inspect.signature(found).parameters)
            except (TypeError, ValueError):
                problems.append(f"{module_name}.{name} is no longer a function")
                continue
            if taken[: len(parameters)] != parameters:
                problems.append(f"{module_name}.{name}{parameters} now takes {taken}")
    return problems


_MISSING = object()


def runtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("azure-functions-runtime")
    except PackageNotFoundError:
        return "not installed"


class _Incoming:
    """A TypedData from the wire, shaped like the protobuf message `Datum.from_typed_data` reads."""

    _KINDS = ("string", "json", "bytes", "http", "int", "double")

    def __init__(self, typed: TypedData | None) -> None:
        self._typed = typed or {}

    def WhichOneof(self, group: str) -> str | None:  # noqa: N802 - the protobuf method's name
        return next((kind for kind in self._KINDS if kind in self._typed), None)

    def __getattr__(self, name: str) -> Any:
        if name not in self._KINDS:
            raise AttributeError(name)  # `from_typed_data` probes for a `TypedData` attribute
        value = self._typed.get(name)
        if name == "bytes":
            return data_bytes(self._typed)
        if name == "http":
            return _IncomingHttp(value or {})
        return value


class _IncomingHttp:
    def __init__(self, http: dict[str, Any]) -> None:
        self.method = http.get("method", "")
        self.url = http.get("url", "")
        self.headers: dict[str, str] = http.get("headers", {})
        self.params: dict[str, str] = http.get("params", {})
        self.query: dict[str, str] = http.get("query", {})
        self.body = _Incoming(http.get("body"))


class _Forwarder(logging.Handler):
    """Every log record of this process, to the host (the worker sends RpcLog messages)."""

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            self._channel.send(
                {"type": "log", "level": record.levelno, "name": record.name, "message": message}
            )
        except Exception:  # a log record must never break the invocation that wrote it
            self.handleError(record)


class Worker:
    def __init__(self, channel: Channel, app_dir: Path) -> None:
        self.channel = channel
        self.app_dir = app_dir
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(
            target=self.loop.run_forever, name="worker-event-loop", daemon=True
        )

    def init(self) -> list[dict[str, Any]]:
        """The worker's init: binding registry, thread pool, indexing; the functions' metadata."""
        from azure_functions_runtime import handle_event
        from azure_functions_runtime.bindings.meta import load_binding_registry
        from azure_functions_runtime.utils.threadpool import start_threadpool_executor

        os.chdir(self.app_dir)
        sys.path.insert(0, str(self.app_dir))
        handle_event.protos = protos  # the host hands the worker its protobuf module at init
        load_binding_registry()
        start_threadpool_executor()
        handle_event.load_function_metadata(str(self.app_dir), caller_info="worker_init_request")
        indexed = handle_event._metadata_result
        if indexed is None:
            raise FileNotFoundError(
                f"no {os.environ.get('PYTHON_SCRIPT_FILE_NAME', 'function_app.py')} in {self.app_dir}"
            )
        self._loop_thread.start()
        return [
            {
                "name": metadata["name"],
                "function_id": metadata["function_id"],
                "bindings": [_json_loads(raw) for raw in metadata.get("raw_bindings", [])],
            }
            for metadata in indexed
        ]

    def invoke(self, message: Message) -> None:
        """Start one invocation on the worker's loop; its answer is sent when it ends."""
        from azure_functions_runtime.bindings.datumdef import Datum
        from azure_functions_runtime.native_invocation import invocation_request_native

        invocation_id = str(message["id"])
        try:
            inputs = [(name, Datum.from_typed_data(_Incoming(typed))) for name, typed in message["inputs"]]
            metadata = {
                name: Datum.from_typed_data(_Incoming(typed))
                for name, typed in message.get("trigger_metadata", {}).items()
            }
        except Exception as error:  # a malformed invocation fails, the worker goes on
            self._answer(invocation_id, (False, None, [], repr(error), traceback.format_exc()))
            return
        future = asyncio.run_coroutine_threadsafe(
            invocation_request_native(invocation_id, message["function_id"], inputs, metadata), self.loop
        )
        future.add_done_callback(lambda done: self._finished(invocation_id, done))

    def _finished(self, invocation_id: str, done: Future[Any]) -> None:
        try:
            outcome = done.result()
        except BaseException as error:  # cancelled or broken: still an answer
            outcome = (False, None, [], repr(error), traceback.format_exc())
        self._answer(invocation_id, outcome)

    def _answer(self, invocation_id: str, outcome: tuple[Any, ...]) -> None:
        from azure_functions_runtime.bindings.datumdef import datum_as_proto

        ok, return_datum, outputs, error, stack = outcome
        answer: Message = {
            "type": "result",
            "id": invocation_id,
            "ok": bool(ok),
            "error": error,
            "traceback": stack,
        }
        try:
            answer["return"] = None if return_datum is None else datum_as_proto(return_datum, protos)
            answer["outputs"] = [[name, datum_as_proto(datum, protos)] for name, datum in outputs]
        except Exception as failure:  # the worker's encoder refused the value
            answer.update(ok=False, error=repr(failure), traceback=traceback.format_exc(), outputs=[])
            answer["return"] = None
        with contextlib.suppress(ChannelClosedError):
            self.channel.send(answer)

    def serve(self) -> None:
        """Answer the host until it closes the channel; then end at once, as a worker whose host died."""
        while True:
            try:
                message = self.channel.receive()
            except ChannelClosedError:
                os._exit(0)
            if message.get("type") == "invoke":
                self.invoke(message)
            elif message.get("type") == "stop":
                os._exit(0)


def _json_loads(raw: str) -> Any:
    import json

    return json.loads(raw)


@contextlib.contextmanager
def _emulator_dns(port: int | None) -> Iterator[None]:
    if port is None:
        yield
        return
    from devtools.loopback_dns import loopback_dns

    with loopback_dns("127.0.0.1", https_port=port):
        yield


def main(argv: list[str] | None = None) -> int:
    # The host owns the worker's life, as the Functions host does: a Ctrl-C that reaches the whole
    # process group (a terminal's) must not end the worker before the host stops it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="python -m devtools.pyworker", description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, required=True)
    parser.add_argument("--channel-fd", type=int, help="the socket the local host talks on")
    parser.add_argument(
        "--log-level",
        action="append",
        default=[],
        metavar="LOGGER=LEVEL",
        help="a logger's level (the root's: =LEVEL), as the host has it",
    )
    parser.add_argument("--emulator-dns", type=int, metavar="PORT")
    parser.add_argument(
        "--check", action="store_true", help="only check the worker's entry points; exit 2 if moved"
    )
    args = parser.parse_args(argv)
    moved = moved_entry_points()
    if args.check or args.channel_fd is None:
        for problem in moved:
            print(f"moved: {problem}", file=sys.stderr)
        verdict = "entry points moved" if moved else "entry points found"
        print(f"azure-functions-runtime {runtime_version()}: {verdict}")
        return 2 if moved else 0
    channel = Channel(socket.socket(fileno=args.channel_fd))
    root = logging.getLogger()
    root.handlers[:] = [_Forwarder(channel)]
    root.setLevel(logging.INFO)
    for setting in args.log_level:
        name, _, level = setting.rpartition("=")
        logging.getLogger(name or None).setLevel(int(level))
    if moved:
        channel.send(
            {
                "type": "init",
                "error": f"azure-functions-runtime {runtime_version()} moved the entry points the local host "
                "calls (devtools/pyworker/worker.py, ENTRY_POINTS): " + "; ".join(moved),
            }
        )
        return 2
    telemetry_dir = os.environ.get("DEVHOST_TELEMETRY_DIR")
    if telemetry_dir:  # the app's telemetry to files, where Azure would send it to Application Insights
        from devtools.telemetry_files import install

        install(Path(telemetry_dir))
    worker = Worker(channel, args.app_dir.resolve())
    with _emulator_dns(args.emulator_dns):
        try:
            functions = worker.init()
        except Exception as error:  # the worker's init fails, and says why
            channel.send({"type": "init", "error": f"{type(error).__name__}: {error}"})
            return 1
        channel.send(
            {
                "type": "init",
                "functions": functions,
                "runtime": runtime_version(),
                "python": sys.version.split()[0],
            }
        )
        worker.serve()
    return 0
