"""The threading HTTP server every local stand-in uses (local host, Durable API, ACS emulator).

Two defaults of `http.server` make it stall where the real front ends do not:
- the listen backlog of 5 drops or resets connections when a burst arrives faster than they are
  accepted (20 concurrent clients were enough); the kernel caps 1024 at somaxconn;
- headers and body are separate writes, so without TCP_NODELAY Nagle holds a small body until the
  client's delayed ACK: 40 ms per small answer. HTTP.sys and Kestrel set it.
"""

from __future__ import annotations

import socket
from http.server import ThreadingHTTPServer
from typing import Any


class LoopbackHttpServer(ThreadingHTTPServer):
    request_queue_size = 1024

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address
