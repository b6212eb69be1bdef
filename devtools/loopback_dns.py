"""Resolve the ACS recording storage host names to loopback, in this process only.

The SDK refuses to download from hosts outside ``*.asm.skype.com``, ``*.asyncgw.teams.microsoft.com``
and ``*.ams.gov.teams.microsoft.us`` (recording_url_validator.py), so the emulator serves content
under such a name (its certificate names ``*.asm.skype.com``) and tests and local tools make that
name resolve to the emulator with this context manager. It patches ``socket.getaddrinfo`` for the
whole process while active (all threads; nested/concurrent use is reference-counted) and answers
only for those suffixes; every other name goes to the real resolver. Production code never uses
it, so the SDK's allow-list keeps protecting real deployments.

Recording URLs carry no port, as the real ones do (the product refuses any other port), so a
connection to port 443 of those names goes to ``https_port``, where the emulator listens.

>>> with loopback_dns(https_port=emulator.port):                # doctest: +SKIP
...     client.download_recording(chunk.content_location)
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

RECORDING_HOST_SUFFIXES: tuple[str, ...] = (
    ".asm.skype.com",
    ".asyncgw.teams.microsoft.com",
    ".ams.gov.teams.microsoft.us",
)

HTTPS_PORT = 443
_lock = threading.Lock()
_active: list[tuple[str, int | None]] = []  # (address, port for 443) per active context, newest last
_original_getaddrinfo = socket.getaddrinfo


def is_recording_host(host: str | bytes | None) -> bool:
    if host is None:
        return False
    name = (host.decode("ascii", "replace") if isinstance(host, bytes) else host).lower().rstrip(".")
    return any(name.endswith(suffix) for suffix in RECORDING_HOST_SUFFIXES)


def _patched_getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    with _lock:
        active = _active[-1] if _active else None
    if active is None or not is_recording_host(host):
        return _original_getaddrinfo(host, port, family, type, proto, flags)
    address, https_port = active
    ip = ipaddress.ip_address(address)
    addr_family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    if family not in (0, socket.AF_UNSPEC, addr_family):
        raise socket.gaierror(socket.EAI_FAMILY, "loopback_dns: address family not available")
    port_number = _port_number(port)
    if port_number == HTTPS_PORT and https_port is not None:
        port_number = https_port
    sockaddr: tuple[Any, ...] = (address, port_number, 0, 0) if ip.version == 6 else (address, port_number)
    sock_type = type or socket.SOCK_STREAM
    return [(addr_family, sock_type, proto or socket.IPPROTO_TCP, "", sockaddr)]


def _port_number(port: Any) -> int:
    if port is None:
        return 0
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if isinstance(port, str) and not port.isdigit():
        return socket.getservbyname(port, "tcp")  # "https" -> 443
    return int(port)


@contextmanager
def loopback_dns(address: str = "127.0.0.1", *, https_port: int | None = None) -> Iterator[None]:
    """Resolve recording storage hosts to ``address`` (must be loopback) while the block runs;
    with ``https_port``, their port 443 is that port (where the emulator listens)."""
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError("loopback_dns only maps names to loopback addresses")
    entry = (address, https_port)
    with _lock:
        _active.append(entry)
        socket.getaddrinfo = _patched_getaddrinfo
    try:
        yield
    finally:
        with _lock:
            _active.remove(entry)
            if not _active:
                socket.getaddrinfo = _original_getaddrinfo
