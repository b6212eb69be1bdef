"""The allow-list of hosts that serve ACS recording content, checked before any request.

The SDK checks the same suffixes, but only at download time: checking at the edge means an
event pointing elsewhere is dropped before it is queued, logged or retried.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from shared.urls import https_url_problem

RECORDING_HOST_SUFFIXES: Final = (
    ".asm.skype.com",
    ".asyncgw.teams.microsoft.com",
    ".ams.gov.teams.microsoft.us",
)


def recording_url_problem(url: object) -> str | None:
    """Why `url` may not be fetched with our ACS credentials, or None when it may."""
    if not isinstance(url, str) or not url:
        return "must be a URL string"
    problem = https_url_problem(url)
    if problem is not None:
        return problem
    parts = urlsplit(url)
    if parts.fragment:
        return "must not carry a fragment"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host.endswith(RECORDING_HOST_SUFFIXES):
        return "is not on an ACS recording host"
    # Every captured recording URL uses the default https port; another port on an allowed name
    # would be a server nobody vouched for (UNVERIFIED that ACS never uses one: none seen).
    if parts.port not in (None, 443):
        return "must use the default https port"
    return None
