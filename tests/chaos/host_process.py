"""The local host (`python -m devtools.devhost`) as a real child process, so it can be SIGKILLed.

It runs the app with the local Durable engine persisted in Azurite (`AzureWebJobsStorage`), on a
fixed port: a restart comes back on the same address and resumes orchestrations from the same
store, as a Functions host does after its worker dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools.ports import wait_for_port

REPO = Path(__file__).resolve().parents[2]
# Settings of the developer's shell that would point the app elsewhere.
_UNSET = (
    "ACS_ENDPOINT",
    "ARCHIVE_STORAGE_ACCOUNT_URL",
    "ARCHIVE_STORAGE_CONNECTION_STRING",
    "AZURE_CLIENT_ID",
)


class HostProcess:
    def __init__(
        self, port: int, settings: dict[str, str], log_dir: Path, name: str, *, emulator_port: int
    ) -> None:
        self.port, self.settings, self.log_dir, self.name = port, settings, log_dir, name
        self.emulator_port = emulator_port  # the recording hosts' 443 goes there (--emulator-dns)
        self.logs: list[Path] = []
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HostProcess:
        env = {k: v for k, v in os.environ.items() if k not in _UNSET and not k.startswith("AzureWebJobs")}
        env.update(self.settings, PYTHONUNBUFFERED="1")
        log = self.log_dir / f"{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "devtools.devhost",
                    "--port",
                    str(self.port),
                    "--emulator-dns",
                    str(self.emulator_port),
                    "--settings",
                    str(self.log_dir / "no-local.settings.json"),
                ],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, timeout=90)
        except TimeoutError:
            self.stop()
            raise
        if self._process.poll() is not None:
            raise RuntimeError(f"the local host exited with {self._process.returncode}; see {log}")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight activities and HTTP answers are lost."""
        process, self._process = self._process, None
        if process is not None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
