"""Where a running `make run` leaves its addresses and key for `make demo`: one file per app port.

Two stacks side by side (`PORT=7072 make run` beside a 7071 one) each write, and on stopping delete, only
their own `.work/stack-<port>.json`; a file names the process that wrote it, so one left behind by a stack
that was killed is recognised as stale. `STACK_STATE_DIR` moves the folder (the tests use their own).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
_NAME = re.compile(r"^stack-(\d{1,5})\.json$")


def state_dir() -> Path:
    return Path(os.environ.get("STACK_STATE_DIR") or REPO / ".work")


def state_path(port: int) -> Path:
    return state_dir() / f"stack-{port}.json"


def write_state(port: int, state: dict[str, Any]) -> Path:
    """This process's stack on `port` (readable only by this user: it holds the function key)."""
    path = state_path(port)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({**state, "port": port, "pid": os.getpid()}, indent=2))
    temporary.chmod(0o600)
    temporary.replace(path)
    return path


def remove_state(port: int) -> None:
    """Delete `port`'s file if this process wrote it (another stack may have taken the port since)."""
    path = state_path(port)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


@dataclass(frozen=True)
class StackState:
    port: int
    state: dict[str, Any]


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def running_stacks() -> list[StackState]:
    """The stacks whose process is alive and whose app port answers, by port; a file whose process is
    gone is deleted (its stack was killed before it could clean up)."""
    found: list[StackState] = []
    folder = state_dir()
    for path in sorted(folder.glob("stack-*.json")) if folder.is_dir() else []:
        name = _NAME.fullmatch(path.name)
        if name is None:
            continue
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(state, dict):
            continue
        if not _alive(state.get("pid")):
            path.unlink(missing_ok=True)
            continue
        port = int(name[1])
        if _answers(port):
            found.append(StackState(port, state))
    return found


class NoStackError(Exception):
    """No stack to talk to; the message says what to do, in one line."""


def choose_stack(port: int | None) -> StackState:
    """The stack on `port`, or the only one running when `port` is None."""
    stacks = running_stacks()
    ports = ", ".join(str(stack.port) for stack in stacks)
    if port is not None:
        for stack in stacks:
            if stack.port == port:
                return stack
        elsewhere = f" (running on {ports})" if stacks else ""
        raise NoStackError(
            f"No local stack is running on port {port}{elsewhere}: start one with `PORT={port} make run` "
            "in another terminal."
        )
    if not stacks:
        raise NoStackError("The local stack is not running: start it with `make run` (in another terminal).")
    if len(stacks) > 1:
        raise NoStackError(
            f"Local stacks are running on ports {ports}: choose one, e.g. `PORT={stacks[0].port} make demo`."
        )
    return stacks[0]
