"""URL checks shared by request validation, settings and the recording-host allow-list."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def https_url_problem(value: str) -> str | None:
    """Why `value` is not an acceptable absolute https URL, or None when it is."""
    if len(value) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https":
        return "must use https"
    if not parts.hostname:
        return "must have a host"
    if parts.username or parts.password:
        return "must not carry credentials"
    return None


def public_host_problem(host: str) -> str | None:
    """Why `host` is not a public internet name ACS could call back, or None when it is.

    A callback URL is handed to ACS, which then posts to it: an IP literal in a private,
    loopback, link-local or reserved range (the cloud metadata endpoint among them) or a
    single-label name can only be reached from inside some network, never a public service.
    """
    name = host.strip("[]").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        if "." not in name:
            return "must be a fully qualified host name"
        return None
    if not address.is_global:
        return "must not be a private, loopback, link-local or reserved address"
    return None
