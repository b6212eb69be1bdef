"""`make run`: Azurite + ACS emulator + the app on the local host, wired together; Ctrl-C stops all.

Everything runs on loopback. Azurite is a child process in its own process group (ended on exit);
the emulator, the Durable engine and the local host run in this process, so nothing is left
behind. The stack's addresses and key are written to `.work/stack.json` for `make demo`.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from devtools.acs_emulator import AcsEmulator
from devtools.azurite import running_azurite
from devtools.devhost.durable import durable_engine
from devtools.devhost.host import DevHost, IndexingError, start_worker
from devtools.ports import port_in_use, wait_for_port

REPO = Path(__file__).resolve().parents[2]
STATE_FILE = REPO / ".work" / "stack.json"
EVENT_FUNCTION = "on_recording_file_status_updated"


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
    signal.signal(signal.SIGTERM, _interrupt)
    key = os.environ.get("DEVHOST_FUNCTION_KEY") or secrets.token_urlsafe(24)
    try:
        return _run(args, key)
    except PortTakenError as taken:  # taken after the check above: the stack is already stopped
        print(taken, file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, key: str) -> int:
    with ExitStack() as stack:
        azurite = stack.enter_context(running_azurite())
        with binding(EMULATOR, args.emulator_port):
            emulator = stack.enter_context(AcsEmulator(port=args.emulator_port))
        workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="stack-"))
        stack.enter_context(emulator.loopback_dns())
        _configure_environment(Path(workdir), emulator, azurite.connection_string, args.port, key)
        if args.func:
            return _run_core_tools(emulator, args.port)
        try:  # the app runs in the Python worker, which resolves the recording hosts to the emulator
            worker = start_worker(REPO, emulator_dns_port=emulator.port)
        except IndexingError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        stack.callback(worker.stop)
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
        stack.callback(STATE_FILE.unlink, missing_ok=True)
        emulator.add_event_webhook(host.event_grid_url(EVENT_FUNCTION), validate=True)
        _write_state(host, emulator, azurite.connection_string)
        _print_banner(host, emulator, azurite.blob_port, azurite.table_port)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("\nStopping...", flush=True)
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


def core_tools_settings(example: dict[str, Any], environ: Mapping[str, str], port: int) -> dict[str, Any]:
    """local.settings.json for `func start`: the example's settings, pointed at this stack."""
    values = {name: value for name, value in example["Values"].items() if not name.startswith("_")}
    values.update({name: environ[name] for name in STACK_SETTINGS})
    values["ACS_ENDPOINT"] = ""  # the connection string is used
    values["RECORDING_STATE_CALLBACK_URL"] = f"http://127.0.0.1:{port}/api/callbacks/recording-state"
    return {"IsEncrypted": False, "Values": values}


def _run_core_tools(emulator: AcsEmulator, port: int) -> int:
    """`func start` with local.settings.json generated from the example and this stack's settings.

    Core Tools runs the app in its own worker process, where this process's loopback name
    resolution for the emulator's recording hosts does not apply: archiving needs them in
    /etc/hosts and port 443 sent to the emulator (both printed below). Core Tools does not check
    function keys locally.
    """
    example = json.loads((REPO / "local.settings.json.example").read_text())
    values = {name: value for name, value in example["Values"].items() if not name.startswith("_")}
    for name in (
        "AzureWebJobsStorage",
        "ACS_CONNECTION_STRING",
        "ACS_RESOURCE_ID",
        "ACS_OPENID_CONFIGURATION_URL",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
    ):
        values[name] = os.environ[name]
    values["ACS_ENDPOINT"] = ""
    values["RECORDING_STATE_CALLBACK_URL"] = f"http://127.0.0.1:{port}/api/callbacks/recording-state"
    settings = REPO / "local.settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}, indent=2))
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
    try:
        wait_for_port(port, timeout=120)
        emulator.add_event_webhook(webhook, validate=True)
        return func.wait()
    except KeyboardInterrupt:
        func.terminate()
        func.wait(timeout=20)
        return 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _configure_environment(workdir: Path, emulator: AcsEmulator, storage: str, port: int, key: str) -> None:
    """The settings local.settings.json would give, pointed at this stack."""
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
        }
    )


def _write_state(host: DevHost, emulator: AcsEmulator, storage: str) -> None:
    state: dict[str, Any] = {
        "api": f"{host.base_url}/api",
        "functionKey": host.function_key,
        "emulator": emulator.endpoint,
        "emulatorCa": emulator.ca_pem_path,
        "storage": storage,
        "container": os.environ.get("ARCHIVE_CONTAINER", "recordings"),
    }
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps(state, indent=2))
    STATE_FILE.chmod(0o600)


def _print_banner(host: DevHost, emulator: AcsEmulator, blob_port: int, table_port: int) -> None:
    api = f"{host.base_url}/api"
    print(
        "\n".join(
            [
                "",
                "Running (all on loopback):",
                f"  function app  {api}   function key: {host.function_key}   master key: {host.master_key}",
                f"  ACS emulator  {emulator.endpoint}   CA: {emulator.ca_pem_path}",
                f"  Azurite       blob :{blob_port}  table :{table_port}",
                "  Event Grid    the emulator posts RecordingFileStatusUpdated to the app's webhook",
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
