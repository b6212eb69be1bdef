"""`make run` started as a user starts it: a real `make` in a session and process group of its own (what
a terminal gives a foreground job), its output read as it comes, every process it started found in /proc.

Nothing is imitated: the Makefile, the stack, Azurite and the emulator are the real ones, so a stop that
leaves a process, a port, a state file or a temporary CA behind is seen.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.ports import free_port, port_in_use

REPO = Path(__file__).resolve().parents[3]
MAKE = shutil.which("make") or "make"
READY = "Ctrl-C stops everything."


def make_environment(state_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment for a `make` of our own: none of an outer make's variables (make test
    runs us), our state folder, unbuffered Python."""
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("MAKE") and name != "MFLAGS"
    }
    env.update(
        {"STACK_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1", "ACS_EMULATOR_PORT": "0", **extra}
    )
    env.pop("USE_FUNC", None)
    return env


def descendants(root: int) -> set[int]:
    """`root` and every process below it, from /proc (Azurite sits in a session of its own, but still
    below the stack)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, pending = set(), [root]
    while pending:
        pid = pending.pop()
        found.add(pid)
        pending += children.get(pid, [])
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class MakeRun:
    """One `make run` on `port`; `terminal=True` gives it a pseudo-terminal as output, to hang up."""

    state_dir: Path
    port: int = field(default_factory=free_port)
    terminal: bool = False
    output: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    pids: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    ca_path: Path | None = None
    _master: int | None = None

    def start(self, timeout: float = 180.0) -> MakeRun:
        env = make_environment(self.state_dir, PORT=str(self.port))
        if self.terminal:
            self._master, slave = pty.openpty()
            self.process = subprocess.Popen(
                [MAKE, "run"], cwd=REPO, env=env, start_new_session=True, stdout=slave, stderr=slave
            )
            os.close(slave)
            reader = self._read_terminal
        else:
            self.process = subprocess.Popen(
                [MAKE, "run"],
                cwd=REPO,
                env=env,
                start_new_session=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            reader = self._read_pipe
        threading.Thread(target=reader, daemon=True).start()
        deadline = time.monotonic() + timeout
        while READY not in self.text:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"make run did not come up:\n{self.text}")
            time.sleep(0.1)
        self._learn()
        return self

    @property
    def text(self) -> str:
        return "".join(self.output)

    def _read_pipe(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for line in iter(self.process.stdout.readline, b""):
            self.output.append(line.decode("utf-8", "replace"))

    def _read_terminal(self) -> None:
        while self._master is not None:
            try:
                chunk = os.read(self._master, 4096)
            except OSError:
                return
            if not chunk:
                return
            self.output.append(chunk.decode("utf-8", "replace").replace("\r\n", "\n"))

    def _learn(self) -> None:
        """The processes and ports this stack holds, and its emulator's CA, from /proc and its banner."""
        assert self.process is not None
        self.pids = descendants(self.process.pid)
        azurite = re.search(r"Azurite\s+blob :(\d+)\s+table :(\d+)", self.text)
        emulator = re.search(r"ACS emulator\s+https://[^:]+:(\d+)\s+CA: (\S+)", self.text)
        assert azurite, self.text
        assert emulator, self.text
        self.ports = {self.port, int(azurite[1]), int(azurite[2]), int(emulator[1])}
        self.ca_path = Path(emulator[2])
        assert any("azurite" in _command(pid) for pid in self.pids), "Azurite is not below make run"

    @property
    def state_file(self) -> Path:
        return self.state_dir / f"stack-{self.port}.json"

    @property
    def stack_pid(self) -> int:
        return next(pid for pid in self.pids if "devtools.stack" in _command(pid))

    def hang_up_terminal(self) -> None:
        """What a closed terminal or a dropped SSH session does: the terminal goes away (writes to it
        fail from now on) and the shell sends SIGHUP to its job's process group."""
        assert self.terminal
        assert self._master is not None
        assert self.process is not None
        master, self._master = self._master, None
        os.close(master)
        os.killpg(self.process.pid, signal.SIGHUP)

    def wait_stopped(self, timeout: float = 60.0) -> int:
        """make's exit status, once make and everything it started are gone."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        # A multi-threaded process (Azurite's node) shows as a zombie while its other threads still exit
        # and hold its sockets: wait for the ports as well.
        while time.monotonic() < deadline and (
            any(alive(pid) for pid in self.pids) or any(port_in_use(port) for port in self.ports)
        ):
            time.sleep(0.1)
        return code

    def leftovers(self) -> list[str]:
        """Whatever this stack left behind: processes, ports still listening, its state file, its CA."""
        found = [f"process {pid}: {_command(pid)}" for pid in sorted(self.pids) if alive(pid)]
        found += [f"port {port} still in use" for port in sorted(self.ports) if port_in_use(port)]
        if self.state_file.exists():
            found.append(f"{self.state_file} left behind")
        if self.ca_path is not None and self.ca_path.exists():
            found.append(f"the emulator's CA {self.ca_path} left behind")
        return found

    def kill_all(self) -> None:
        """Test cleanup: whatever still runs is killed (a failed test must not leave a stack running)."""
        for pid in self.pids | ({self.process.pid} if self.process else set()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)
        if self._master is not None:
            os.close(self._master)
            self._master = None
        if self.ca_path is not None:
            shutil.rmtree(self.ca_path.parent, ignore_errors=True)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "(gone)"
