"""Serve function_app's HTTP routes with `devtools.devhost.DevHost` in this process until SIGTERM.

`python -m benchmarks.devhost_server PORT` (function key from DEVHOST_FUNCTION_KEY, settings from the
environment). Uses the DevHost class the e2e tests use (the app in the Python worker), without the
CLI's durable-engine wiring, which the control routes do not need.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType


def main() -> int:
    from pathlib import Path

    from devtools.devhost import DevHost
    from devtools.devhost.host import start_worker

    stop = threading.Event()

    def _request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    worker = start_worker(Path(__file__).resolve().parents[1])
    host = DevHost(worker, port=int(sys.argv[1]), function_key=os.environ["DEVHOST_FUNCTION_KEY"])
    host.start()
    try:
        while not stop.wait(0.2):
            pass
    finally:
        host.stop()
        worker.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
