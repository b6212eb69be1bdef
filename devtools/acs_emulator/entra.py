"""Microsoft Entra ID, as far as ACS with a managed identity needs it: tokens and their check.

On Azure Functions a managed identity gets its tokens from the App Service identity endpoint
(``IDENTITY_ENDPOINT``, with the secret ``IDENTITY_HEADER`` sent as ``X-IDENTITY-HEADER``;
protocol version 2019-08-01), which azure-identity's ``ManagedIdentityCredential`` (and so
``DefaultAzureCredential``) calls when both variables are set. :class:`IdentityEndpoint` serves that
protocol on loopback, over plain HTTP like the real one, with tokens from :class:`EntraIssuer`,
and the emulator accepts ``Authorization: Bearer`` tokens that issuer signed.

What the emulator checks: RS256 signature by this issuer's key, ``iss``, ``aud`` (the ACS resource
``https://communication.azure.com``, with or without the trailing slash azure-identity's scope
conversion leaves), ``exp``/``nbf`` (60 s leeway). The identity endpoint also issues tokens for Event
Grid (``https://eventgrid.azure.net``, the audience Event Grid checks: docs "Authenticate Event Grid
publishing clients using Microsoft Entra ID"), which the local topic (devtools/event_grid) verifies
with the same issuer; ACS refuses them, as it refuses any other audience. UNVERIFIED / not modelled:
the real ACS also requires an Azure role assignment for the principal on the resource; any valid token is
authorized here. Token claims follow Entra v1 access tokens (``iss https://sts.windows.net/<tenant>/``,
``appid``, ``oid``, ``tid``, ``ver 1.0``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.http_server import serve_in_background, shut_down

ACS_RESOURCE = "https://communication.azure.com"
ACCEPTED_AUDIENCES = (ACS_RESOURCE, f"{ACS_RESOURCE}/")
EVENT_GRID_RESOURCE = "https://eventgrid.azure.net"
EVENT_GRID_AUDIENCES = (EVENT_GRID_RESOURCE, f"{EVENT_GRID_RESOURCE}/")
ISSUED_FOR = (ACS_RESOURCE, EVENT_GRID_RESOURCE)  # the resources the identity endpoint gives tokens for
PROTOCOL_VERSION = "2019-08-01"
TOKEN_PATH = "/msi/token"  # noqa: S105 - a URL path, not a password
TOKEN_LIFETIME_S = 3600
LEEWAY_S = 60
SYSTEM_ASSIGNED_CLIENT_ID = "00000000-0000-0000-0000-0000000000aa"


class InvalidTokenError(Exception):
    """A bearer token this emulator must refuse (the reason is for logs and tests, never a body)."""


class EntraIssuer:
    """An RSA key pair standing in for one Entra tenant's token signing key."""

    def __init__(self, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.issuer = f"https://sts.windows.net/{self.tenant_id}/"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def token(
        self,
        *,
        client_id: str = SYSTEM_ASSIGNED_CLIENT_ID,
        audience: str = ACS_RESOURCE,
        lifetime_s: int = TOKEN_LIFETIME_S,
        now: float | None = None,
        issuer: str | None = None,
    ) -> str:
        """An access token for ``audience``; the overrides let tests forge bad ones."""
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime_s,
            "appid": client_id,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "tid": self.tenant_id,
            "ver": "1.0",
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, audiences: tuple[str, ...] = ACCEPTED_AUDIENCES) -> dict[str, Any]:
        """The token's claims if it was issued for one of `audiences` (ACS's by default), or
        :class:`InvalidTokenError`."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=list(audiences),
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "nbf", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidTokenError(type(error).__name__) from error
        return claims


@dataclass(frozen=True)
class TokenRequest:
    """One call to the identity endpoint, as the tests see it (no secret kept)."""

    resource: str | None
    client_id: str | None
    api_version: str | None
    status: int


class IdentityEndpoint:
    """The App Service managed identity endpoint on ``http://127.0.0.1:PORT/msi/token``."""

    def __init__(self, issuer: EntraIssuer) -> None:
        self.issuer = issuer
        self.secret = secrets.token_urlsafe(24)
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> IdentityEndpoint:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = endpoint._answer(self.path, self.headers.get("X-IDENTITY-HEADER"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{TOKEN_PATH}"
        self._thread = serve_in_background(self._server, "identity")
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        shut_down(server)

    @property
    def environment(self) -> dict[str, str]:
        """What Azure Functions sets for an app with a managed identity."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def _answer(self, target: str, header: str | None) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(target)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        resource, client_id, version = query.get("resource"), query.get("client_id"), query.get("api-version")
        status, body = self._decide(parts.path, header, resource, client_id, version)
        with self._lock:
            self.requests.append(TokenRequest(resource, client_id, version, status))
        return status, body

    def _decide(
        self, path: str, header: str | None, resource: str | None, client_id: str | None, version: str | None
    ) -> tuple[int, dict[str, Any]]:
        if path != TOKEN_PATH:
            return 404, {"error": "not_found"}
        if header is None or not secrets.compare_digest(header, self.secret):
            return 401, {
                "error": "unauthorized",
                "error_description": "X-IDENTITY-HEADER is missing or wrong",
            }
        if version != PROTOCOL_VERSION or not resource:
            return 400, {"error": "invalid_request", "error_description": "api-version and resource required"}
        if resource.rstrip("/") not in ISSUED_FOR:  # the only resources this stand-in issues for
            return 400, {"error": "invalid_resource", "error_description": "unknown resource"}
        principal = client_id or SYSTEM_ASSIGNED_CLIENT_ID
        token = self.issuer.token(client_id=principal, audience=resource)
        expires_on = int(time.time()) + TOKEN_LIFETIME_S
        return 200, {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal,
        }
