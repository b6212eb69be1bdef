"""Child processes of the dev tools never outlive the process that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def die_with(parent: int) -> None:
    """In the child, before exec (`preexec_fn`): Linux sends it SIGKILL when the thread that started
    it ends, so Azurite (in a session of its own) and the Python worker never outlive the stack or the
    tests, a SIGKILL or a crash included. If that process is already gone, exit at once."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)
