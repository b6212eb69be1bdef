"""When `make run` must stop: every way a user stops it, including the ones that never reach this process.

- Ctrl-C (SIGINT to the terminal's foreground group), SIGTERM, and SIGHUP (a closed terminal or a dropped
  SSH session) arrive here: each asks the stack to stop, between start-up steps or while it waits.
- `kill -INT <make's pid>` reaches make alone, and make does not forward it: its handler resets the
  signal to the default, keeps it blocked and waits for its child, which would run forever. Linux shows
  that state in /proc/<make's pid>/status (the signal is blocked and no longer caught), so the stack
  watches its parent and stops when make is in it. (make forwards SIGTERM itself.)
- Its parent ending (make killed) stops it too.

The parsing is pure; `ParentWatch` reads /proc and does nothing where there is none.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

# The signals make's fatal-signal handler waits for its children on instead of forwarding (SIGTERM it
# forwards, but a shell between make and us would not).
STOP_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def signal_set(mask: str) -> set[int]:
    """The signal numbers in a /proc status mask such as `0000000000010002` (bit n-1 is signal n)."""
    bits = int(mask, 16)
    return {number for number in range(1, 65) if bits >> (number - 1) & 1}


def status_masks(status: str) -> dict[str, set[int]]:
    """SigBlk, SigCgt, ... of a /proc/<pid>/status text, as sets of signal numbers."""
    masks: dict[str, set[int]] = {}
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name.startswith("Sig") and name != "SigQ":
            masks[name] = signal_set(value.strip())
    return masks


def handling_stop_signal(status: str, caught_before: set[int]) -> int | None:
    """The stop signal a process is handling (blocked, and no longer caught though it was), or None."""
    masks = status_masks(status)
    blocked, caught = masks.get("SigBlk", set()), masks.get("SigCgt", set())
    for number in STOP_SIGNALS:
        if number in blocked and number in caught_before and number not in caught:
            return int(number)
    return None


def _status(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class ParentWatch:
    """Whether the process that started this one ended, or is make handling a stop signal it keeps."""

    def __init__(self) -> None:
        self.parent = os.getppid()
        self.is_make = _name(self.parent) in {"make", "gmake"}
        status = _status(self.parent) if self.is_make else None
        self._caught = status_masks(status).get("SigCgt", set()) if status else set()
        self._seen = 0

    def reason(self) -> str | None:
        """Why to stop, or None. make's state must be seen twice in a row (it blocks signals briefly
        while starting a job; this one lasts until its children end)."""
        if os.getppid() != self.parent:
            return "its parent process ended"
        if not self.is_make or not self._caught:
            return None
        status = _status(self.parent)
        held = handling_stop_signal(status, self._caught) if status else None
        self._seen = self._seen + 1 if held else 0
        if held and self._seen >= 2:
            return f"make received {signal.Signals(held).name} (make does not forward it)"
        return None


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP ask the stack to stop; it does between steps, never in the middle of one."""

    def __init__(self) -> None:
        self.received: str | None = None

    def install(self) -> StopSignals:
        """A signal ignored when this process started stays ignored (`nohup make run`, or a job a
        non-interactive shell put in the background without SIGINT)."""
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(number) is not signal.SIG_IGN:
                signal.signal(number, self._on_signal)
        return self

    def _on_signal(self, number: int, _frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(number).name
