"""How `make run` knows make is handling a signal it will not forward: read from /proc's signal masks
(the processes themselves: tests/devtools/stack)."""

from __future__ import annotations

import signal

from devtools.stack.lifetime import handling_stop_signal, signal_set, status_masks

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
