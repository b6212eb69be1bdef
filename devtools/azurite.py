"""Start the real Azurite (npm) on free loopback ports: for tests and `make run` (in memory), and
restartable with its data on disk for the chaos suite."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[1]
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


def azurite_executable() -> Path:
    path = REPO / "node_modules" / ".bin" / "azurite"
    if not path.exists():
        raise RuntimeError("Azurite is not installed: run `make test` (it runs `npm ci` first).")
    return path


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
            str(azurite_executable()),
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
        if self.access_log is None:
            self._process = subprocess.Popen(
                self._argv(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
            )
        else:
            with self.access_log.open("ab") as log:
                self._process = subprocess.Popen(
                    self._argv(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
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
