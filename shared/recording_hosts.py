"""The allow-list of hosts that serve ACS recording content, checked before any request.

The SDK checks the same suffixes, but only at download time: checking at the edge means an
event pointing elsewhere is dropped before it is queued, logged or retried. The recording host
answers a download with a 302 to a regional host, which azure-core follows on its own: the
`AllowListPolicy` checks every hop too, so a redirect cannot take a request (or our bytes into the
archive) to a host nobody vouched for.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy

from shared.errors import UntrustedHostError
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


class AllowListPolicy(SansIOHTTPPolicy[Any, Any]):
    """Per-hop guard for the Call Automation client: the ACS endpoint, or an allow-listed
    recording URL, and nothing else. Runs after azure-core's redirect policy, before signing."""

    def __init__(self, acs_endpoint: str) -> None:
        self._acs = urlsplit(acs_endpoint).netloc.lower()

    def on_request(self, request: PipelineRequest[Any]) -> None:
        url = str(request.http_request.url)
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.netloc.lower() == self._acs:
            return
        problem = recording_url_problem(url)
        if problem is not None:  # the host only: a redirect's query may carry a token
            raise UntrustedHostError(f"refused a request to {parts.hostname or '?'}: the URL {problem}")
