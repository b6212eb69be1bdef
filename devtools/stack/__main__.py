"""`make run`: Azurite + ACS emulator + the app on the local host, wired together; Ctrl-C stops all.

Everything runs on loopback. Azurite is a child process in its own session, stopped after the app and
killed by the kernel if this process dies first; the emulator, the Durable engine and the local host
run in this process. Every way a user stops it stops all of it, temporary files and state included
(Ctrl-C, SIGTERM, SIGHUP from a closed terminal, `kill -INT` to make, which make does not forward:
devtools/stack/lifetime.py). The stack's addresses and key are written to `.work/stack-<port>.json`
for `make demo` (devtools/stack/state.py), so stacks on two ports never share one.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import AzuriteUnavailableError, running_azurite
from devtools.devhost.durable import durable_engine
from devtools.devhost.host import DevHost, IndexingError, start_worker
from devtools.event_grid import LocalTopic
from devtools.ports import port_in_use, wait_for_port
from devtools.stack.lifetime import ParentWatch, StopSignals
from devtools.stack.state import remove_state, write_state

REPO = Path(__file__).resolve().parents[2]
EVENT_FUNCTION = "on_acs_event"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__)
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT", "7071"))
    parser.add_argument("--emulator-port", type=_port, default=os.environ.get("ACS_EMULATOR_PORT", "0"))
    parser.add_argument(
        "--func",
        action="store_true",
        default=os.environ.get("USE_FUNC") == "1",
        help="run the app with Functions Core Tools (`func start`, must be on PATH) "
        "instead of the local host, from a generated local.settings.json",
    )
    args = parser.parse_args(argv)
    if args.func and shutil.which("func") is None:
        print("error: --func needs Functions Core Tools (`func`) on the PATH", file=sys.stderr)
        return 2
    # Before anything starts: Azurite is a child process, and a taken port should cost nothing.
    problem = unusable_ports(args.port, args.emulator_port)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(name)s: %(message)s", datefmt="%H:%M:%S")
    for noisy in ("azure", "devtools.acs_emulator", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop = StopSignals().install()  # before anything starts: a stop during start-up cleans up too
    key = os.environ.get("DEVHOST_FUNCTION_KEY") or secrets.token_urlsafe(24)
    try:
        code = _run(args, key, _Stop(stop, ParentWatch()))
    except PortTakenError as taken:  # taken after the check above: the stack is already stopped
        print(taken, file=sys.stderr)
        return 2
    except AzuriteUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except StopRequestedError:
        code = 0
    if code == 0:
        _say("Stopped: the function app, the ACS emulator and Azurite are down.")
    return code


class StopRequestedError(Exception):
    """A stop was asked for during start-up; raised between steps, so what started is stopped in order."""


class _Stop:
    """The stop requests this process can see: its own signals and its parent's fate."""

    def __init__(self, signals: StopSignals, parent: ParentWatch) -> None:
        self.signals, self.parent = signals, parent

    def reason(self) -> str | None:
        return self.signals.received or self.parent.reason()

    def check(self) -> None:
        """Between start-up steps: stop now if asked to."""
        reason = self.reason()
        if reason is not None:
            _say(f"\nStopping ({reason}) during start-up...")
            raise StopRequestedError(reason)

    def wait(self) -> str:
        while (reason := self.reason()) is None:
            time.sleep(0.25)
        return reason


def _say(text: str) -> None:
    """Print, unless the terminal is gone (SIGHUP): then write nothing more to it."""
    try:
        print(text, flush=True)
    except OSError:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this process


def _run(args: argparse.Namespace, key: str, stop: _Stop) -> int:
    with ExitStack() as stack:
        azurite = stack.enter_context(running_azurite())
        stop.check()
        with binding(EMULATOR, args.emulator_port):
            emulator = stack.enter_context(AcsEmulator(port=args.emulator_port))
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="stack-"))
        stack.enter_context(emulator.loopback_dns())
        topic = stack.enter_context(
            LocalTopic(emulator.entra, emulator.ca, ssl.create_default_context(cafile=emulator.ca_pem_path))
        )
        _configure_environment(Path(workdir), emulator, azurite.connection_string, args.port, key, topic)
        stop.check()
        if args.func:
            return _run_core_tools(emulator, args.port, stop)
        try:  # the app runs in the Python worker, which resolves the recording hosts to the emulator
            worker = start_worker(REPO, emulator_dns_port=emulator.port)
        except IndexingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        stack.callback(worker.stop)
        stop.check()
        engine = durable_engine(
            worker, storage=azurite.connection_string, host_json=REPO / "host.json"
        ).start()
        stack.callback(engine.stop)
        with binding(APP, args.port):  # DevHost binds in its constructor
            try:
                host = DevHost(
                    worker, port=args.port, function_key=key, durable_client=engine.client_binding_json
                )
            except IndexingError as error:  # a timer schedule the host cannot index
                print(f"error: {error}", file=sys.stderr)
                return 1
        host.start()
        stack.callback(host.stop)
        stop.check()
        emulator.add_event_webhook(host.event_grid_url(EVENT_FUNCTION), validate=True)
        stack.callback(remove_state, args.port)
        _write_state(args.port, host, emulator, azurite.connection_string, topic)
        _print_banner(host, emulator, azurite.blob_port, azurite.table_port, topic)
        _say(f"\nStopping ({stop.wait()})...")
    return 0


APP = ("the function app", "PORT")
EMULATOR = ("the ACS emulator", "ACS_EMULATOR_PORT")


class PortTakenError(Exception):
    """A port the stack needs is in use; the message says which and how to choose another."""


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (0-65535)")
    return port


def port_taken_message(server: tuple[str, str], port: int, reason: str = "is already in use") -> str:
    """One line: which port, whose, and the setting that chooses another."""
    name, variable = server
    other = next((p for p in range(port + 1, min(port + 100, 65536)) if _free(p)), port + 1)
    hint = f"choose another with `{variable}={other} make run`"
    if server == EMULATOR:
        hint += f", or `{variable}=0 make run` for any free port"
    return f"error: port {port} {reason}, so {name} cannot listen on it; {hint}"


def unusable_ports(app_port: int, emulator_port: int) -> str | None:
    """Why the stack could not listen where asked, or None. Port 0 means any free port."""
    if app_port == 0:
        return "error: the function app needs a fixed port (its URLs go into callbacks); set PORT, e.g. 7071"
    if app_port == emulator_port:
        return (
            f"error: PORT and ACS_EMULATOR_PORT are both {app_port}; choose two different ports "
            "(ACS_EMULATOR_PORT=0 picks any free one)"
        )
    for server, port in ((APP, app_port), (EMULATOR, emulator_port)):
        if port == 0:
            continue
        try:
            if port_in_use(port):
                return port_taken_message(server, port)
        except OSError as error:
            return port_taken_message(server, port, f"cannot be used ({error.strerror})")
    return None


@contextmanager
def binding(server: tuple[str, str], port: int) -> Iterator[None]:
    """Inside, "address in use" becomes PortTakenError, named for `server` and `port`."""
    try:
        yield
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise PortTakenError(port_taken_message(server, port)) from error


def _free(port: int) -> bool:
    try:
        return not port_in_use(port)
    except OSError:
        return False


STACK_SETTINGS = (
    "AzureWebJobsStorage",
    "ACS_CONNECTION_STRING",
    "ACS_RESOURCE_ID",
    "ACS_OPENID_CONFIGURATION_URL",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
)
# The lifecycle events' local topic, and the identity endpoint whose Entra tokens it takes.
EVENT_SETTINGS = ("EVENT_GRID_TOPIC_ENDPOINT", "IDENTITY_ENDPOINT", "IDENTITY_HEADER")


def core_tools_settings(example: dict[str, Any], environ: Mapping[str, str], port: int) -> dict[str, Any]:
    """local.settings.json for `func start`: the example's settings, pointed at this stack."""
    values = {name: value for name, value in example["Values"].items() if not name.startswith("_")}
    values.update({name: environ[name] for name in STACK_SETTINGS})
    values.update({name: environ[name] for name in EVENT_SETTINGS if name in environ})
    values["ACS_ENDPOINT"] = ""  # the connection string is used
    values["RECORDING_STATE_CALLBACK_URL"] = f"http://127.0.0.1:{port}/api/callbacks/recording-state"
    return {"IsEncrypted": False, "Values": values}


def _run_core_tools(emulator: AcsEmulator, port: int, stop: _Stop) -> int:
    """`func start` with local.settings.json generated from the example and this stack's settings.

    Core Tools runs the app in its own worker process, where this process's loopback name
    resolution for the emulator's recording hosts does not apply: archiving needs them in
    /etc/hosts and port 443 sent to the emulator (both printed below). Core Tools does not check
    function keys locally.
    """
    example = json.loads((REPO / "local.settings.json.example").read_text())
    settings = REPO / "local.settings.json"
    settings.write_text(json.dumps(core_tools_settings(example, os.environ, port), indent=2))
    settings.chmod(0o600)
    webhook = f"http://127.0.0.1:{port}/runtime/webhooks/eventgrid?functionName={EVENT_FUNCTION}"
    hosts = " ".join(filter(None, (emulator.content_host, emulator.regional_content_host)))
    print(f"Wrote {settings.name}; starting func on :{port}. For archives, add to /etc/hosts:")
    print(f"  127.0.0.1 {hosts}")
    print("and send port 443 to the emulator (recording URLs carry no port), e.g. as root:")
    print(
        f"  iptables -t nat -A OUTPUT -o lo -p tcp --dport 443 -j REDIRECT --to-ports {emulator.port}",
        flush=True,
    )
    func = subprocess.Popen([shutil.which("func") or "func", "start", "--port", str(port)], cwd=REPO)
    wait_for_port(port, timeout=120)
    emulator.add_event_webhook(webhook, validate=True)
    while func.poll() is None:
        reason = stop.reason()
        if reason is not None:
            _say(f"\nStopping ({reason})...")
            func.terminate()
            func.wait(timeout=20)
            return 0
        time.sleep(0.25)
    return func.returncode


def _configure_environment(
    workdir: Path, emulator: AcsEmulator, storage: str, port: int, key: str, topic: LocalTopic
) -> None:
    """The settings local.settings.json would give, pointed at this stack: its lifecycle events go to the
    local topic, signed in to with the emulator identity endpoint's tokens (DefaultAzureCredential finds
    it through IDENTITY_ENDPOINT, as on Azure; ACS and storage still use their connection strings)."""
    import certifi

    bundle = workdir / "ca-bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + Path(emulator.ca_pem_path).read_text())
    os.environ.update(
        {
            "REQUESTS_CA_BUNDLE": str(bundle),
            "SSL_CERT_FILE": str(bundle),
            "AzureWebJobsStorage": storage,
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ACS_RESOURCE_ID": emulator.resource_id,
            "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
            "RECORDING_STATE_CALLBACK_URL": f"http://127.0.0.1:{port}/api/callbacks/recording-state?code={key}",
            "EVENT_GRID_TOPIC_ENDPOINT": topic.endpoint,
            **emulator.identity.environment,
            **{name: value for name, value in timer_schedules().items() if name not in os.environ},
        }
    )


def timer_schedules() -> dict[str, str]:
    """The timers' %SETTING% schedules as local.settings.json.example sets them (one place for both)."""
    values = json.loads((REPO / "local.settings.json.example").read_text())["Values"]
    return {name: str(value) for name, value in values.items() if name.endswith("_SCHEDULE")}


def _write_state(port: int, host: DevHost, emulator: AcsEmulator, storage: str, topic: LocalTopic) -> None:
    state: dict[str, Any] = {
        "eventTopicAdmin": topic.admin_url,
        "api": f"{host.base_url}/api",
        "functionKey": host.function_key,
        "emulator": emulator.endpoint,
        "emulatorCa": emulator.ca_pem_path,
        "storage": storage,
        "container": os.environ.get("ARCHIVE_CONTAINER", "recordings"),
    }
    write_state(port, state)


def _print_banner(
    host: DevHost, emulator: AcsEmulator, blob_port: int, table_port: int, topic: LocalTopic | None = None
) -> None:
    api = f"{host.base_url}/api"
    events = (
        [
            f"  Lifecycle events  Event Grid topic {topic.endpoint} (CloudEvents; Entra tokens only)",
            "    subscribe a webhook (it must answer the CloudEvents OPTIONS handshake):",
            f"    curl -s -X POST {topic.admin_url}/subscriptions --cacert {emulator.ca_pem_path} \\",
            '         -d \'{"endpoint": "http://127.0.0.1:<port>/<path>"}\'',
            f"    every event so far: curl -s {topic.admin_url}/events --cacert {emulator.ca_pem_path}",
        ]
        if topic is not None
        else []
    )
    print(
        "\n".join(
            [
                "",
                "Running (all on loopback):",
                f"  function app  {api}   function key: {host.function_key}   master key: {host.master_key}",
                f"  ACS emulator  {emulator.endpoint}   CA: {emulator.ca_pem_path}",
                f"  Azurite       blob :{blob_port}  table :{table_port}",
                "  Event Grid    the emulator posts RecordingFileStatusUpdated, CallStarted and CallEnded"
                " to the app's webhook",
                *events,
                "",
                *host.describe(),
                "",
                "Try it:  make demo   (in another terminal: a whole recording, archived)",
                f"  curl -s -X POST {emulator.endpoint}/admin/calls --cacert {emulator.ca_pem_path} \\",
                '       -d \'{"participants": ["8:acs:demo_1", "8:acs:demo_2"]}\'',
                f"  curl -s -X POST {api}/recordings -H 'x-functions-key: {host.function_key}' \\",
                '       -d \'{"serverCallId": "<serverCallId from above>", "channel": "unmixed"}\'',
                "",
                "Ctrl-C stops everything.",
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
