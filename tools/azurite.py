"""Start the real Azurite (npm) on free loopback ports, in memory: for tests and `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tools.ports import free_port, wait_for_port

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


def _stop(process: subprocess.Popen[bytes]) -> None:
    """In-memory Azurite has nothing to flush: ask once, then end its whole process group.

    (Azurite lingers for as long as clients keep pooled connections open after SIGTERM.)
    """
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        process.wait()


@contextmanager
def running_azurite(*, tls: tuple[Path, Path] | None = None) -> Iterator[Azurite]:
    """Azurite over plain HTTP, or with `tls` (certificate and key PEM files) over HTTPS with Entra
    bearer tokens accepted (`--oauth basic`: issuer, audience and lifetime are checked, the signature
    and the caller's roles are not), which user delegation keys need."""
    azurite = Azurite(free_port(), free_port(), free_port(), "https" if tls else "http")
    secure = ["--cert", str(tls[0]), "--key", str(tls[1]), "--oauth", "basic"] if tls else []
    process = subprocess.Popen(
        [
            str(azurite_executable()),
            "--silent",
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--loose",
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
            *secure,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        for port in (azurite.blob_port, azurite.queue_port, azurite.table_port):
            wait_for_port(port)
        yield azurite
    finally:
        _stop(process)
        if process.stderr is not None:
            process.stderr.close()
