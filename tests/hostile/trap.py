"""A loopback port that only counts who connects: forged recording URLs point here.

Any connection at all means the app fetched (or tried to fetch) a URL outside the allow-list, so
the trap speaks no protocol: it accepts, remembers, and closes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Trap:
    port: int
    connections: list[str] = field(default_factory=list)
    forged_deliveries: int = 0  # deliveries sent that named a URL of this trap

    def forged_urls(self, path: str) -> list[str]:
        """URLs off the allow-list that would reach this port if anything fetched them."""
        port = self.port
        return [
            f"https://127.0.0.1:{port}{path}",
            f"http://127.0.0.1:{port}{path}",
            f"https://localhost:{port}{path}",
            f"https://us-storage.asm.skype.com@127.0.0.1:{port}{path}",
            f"https://127.0.0.1:{port}/.asm.skype.com{path}",
            f"https://127.0.0.1:{port}?host=x.asm.skype.com",
            f"https://127.0.0.1:{port}#.asm.skype.com",
            f"https://127.0.0.1:{port}\\.asm.skype.com{path}",
            f"https://2130706433:{port}{path}",  # 127.0.0.1 as one number
            f"https://[::ffff:127.0.0.1]:{port}{path}",
            f"https://127.0.0.1.nip.io:{port}{path}",
            f"https://asm.skype.com.127.0.0.1.nip.io:{port}{path}",
            f"https://us-storage.asm.skype.com.:{port}@127.0.0.1:{port}{path}",
            f"//127.0.0.1:{port}{path}",
            f"ftp://127.0.0.1:{port}{path}",
            f"file:///etc/passwd?{port}",
        ]


def _prove_it_counts(trap: Trap) -> None:
    """Connect once and see it counted, so "no connection" later means none was made."""
    with socket.create_connection(("127.0.0.1", trap.port), timeout=5):
        pass
    deadline = time.monotonic() + 5
    while not trap.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(trap.connections) == 1, "the connection trap does not see connections"
    trap.connections.clear()


@contextmanager
def connection_trap() -> Iterator[Trap]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    trap = Trap(port=int(listener.getsockname()[1]))
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            trap.connections.append(f"{peer[0]}:{peer[1]}")
            connection.close()

    thread = threading.Thread(target=accept, name="connection-trap", daemon=True)
    thread.start()
    _prove_it_counts(trap)
    try:
        yield trap
    finally:
        stopping.set()
        thread.join(timeout=2)
        listener.close()
