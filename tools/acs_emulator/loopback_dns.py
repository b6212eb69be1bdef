"""Resolve the ACS recording storage host names to loopback, in this process only.

The SDK refuses to download from hosts outside ``*.asm.skype.com``, ``*.asyncgw.teams.microsoft.com``
and ``*.ams.gov.teams.microsoft.us`` (recording_url_validator.py), so the emulator serves content
under such a name (its certificate names ``*.asm.skype.com``) and tests and local tools make that
name resolve to the emulator with this context manager. It patches ``socket.getaddrinfo`` for the
whole process while active (all threads; nested/concurrent use is reference-counted) and answers
only for those suffixes; every other name goes to the real resolver. Production code never uses
it, so the SDK's allow-list keeps protecting real deployments.

>>> with loopback_dns():                                        # doctest: +SKIP
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

_lock = threading.Lock()
_active: list[str] = []  # one loopback address per active context, most recent last
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
        address = _active[-1] if _active else None
    if address is None or not is_recording_host(host):
        return _original_getaddrinfo(host, port, family, type, proto, flags)
    ip = ipaddress.ip_address(address)
    addr_family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    if family not in (0, socket.AF_UNSPEC, addr_family):
        raise socket.gaierror(socket.EAI_FAMILY, "loopback_dns: address family not available")
    port_number = int(port) if port is not None else 0
    sockaddr: tuple[Any, ...] = (address, port_number, 0, 0) if ip.version == 6 else (address, port_number)
    sock_type = type or socket.SOCK_STREAM
    return [(addr_family, sock_type, proto or socket.IPPROTO_TCP, "", sockaddr)]


@contextmanager
def loopback_dns(address: str = "127.0.0.1") -> Iterator[None]:
    """Resolve recording storage hosts to ``address`` (must be loopback) while the block runs."""
    if not ipaddress.ip_address(address).is_loopback:
        raise ValueError("loopback_dns only maps names to loopback addresses")
    with _lock:
        _active.append(address)
        socket.getaddrinfo = _patched_getaddrinfo
    try:
        yield
    finally:
        with _lock:
            _active.remove(address)
            if not _active:
                socket.getaddrinfo = _original_getaddrinfo
