"""How `make run` knows make is handling a signal it will not forward: read from /proc's signal masks
(the processes themselves: tests/devtools/stack)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from devtools.stack.lifetime import handling_stop_signal, signal_set, status_masks

REPO = Path(__file__).resolve().parents[2]

# /proc/<make>/status of GNU make 4.3 waiting for its child, before and after `kill -INT <make>`
# (captured on this machine): the handler reset SIGINT to the default and keeps it blocked.
WAITING = "SigQ:\t1/96367\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigCgt:\t0000000001814207\n"
AFTER_SIGINT = (
    "SigQ:\t1/96367\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000010002\nSigCgt:\t0000000001814205\n"
)


def test_signal_masks_are_read_as_signal_numbers() -> None:
    assert signal_set("0000000000010002") == {signal.SIGINT, signal.SIGCHLD}
    assert status_masks(WAITING)["SigBlk"] == {signal.SIGCHLD}


def test_make_handling_a_signal_it_does_not_forward_is_recognised() -> None:
    caught = status_masks(WAITING)["SigCgt"]
    assert {signal.SIGHUP, signal.SIGINT, signal.SIGTERM} <= caught
    assert handling_stop_signal(WAITING, caught) is None
    assert handling_stop_signal(AFTER_SIGINT, caught) == signal.SIGINT


def test_a_signal_blocked_but_still_caught_is_not_a_stop() -> None:
    """make blocks signals for a moment while it starts a job; its handler is still installed then."""
    caught = status_masks(WAITING)["SigCgt"]
    briefly = WAITING.replace("SigBlk:\t0000000000010000", "SigBlk:\t0000000000014003")
    assert handling_stop_signal(briefly, caught) is None


def test_a_signal_ignored_from_the_start_stays_ignored() -> None:
    """`nohup make run` must survive the terminal closing, as nohup promises."""
    probe = (
        "import signal\n"
        "from devtools.stack.lifetime import StopSignals\n"
        "StopSignals().install()\n"
        "ignored = [signal.getsignal(n) is signal.SIG_IGN for n in (signal.SIGHUP, signal.SIGTERM)]\n"
        "print(*ignored)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    assert answer.stdout.split() == ["True", "False"], answer.stderr
