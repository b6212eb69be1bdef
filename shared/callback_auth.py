"""Verify that a state callback really comes from ACS.

ACS signs every Call Automation callback with a JWT in `Authorization: Bearer ...` (lifetime
5 minutes). Its keys are published through an OpenID configuration; the audience is the ACS
resource's immutable resource id (docs: "How to secure webhook endpoint", Call Automation). We
verify signature, issuer, audience and lifetime; anything else is refused with 401.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import urllib.request
from typing import TYPE_CHECKING, Any, Final

from shared.errors import ApiError
from shared.settings import SettingsError

if TYPE_CHECKING:
    import jwt

_LOG = logging.getLogger(__name__)
_CONFIG_TTL_SECONDS: Final = 3600
_LEEWAY_SECONDS: Final = 60
_FETCH_TIMEOUT_SECONDS: Final = 10


class _OpenIdConfiguration:
    """The issuer and a key client for one configuration URL, refreshed hourly."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._lock = threading.Lock()
        self._fetched_at = 0.0
        self._issuer = ""
        self._keys: jwt.PyJWKClient | None = None

    def current(self) -> tuple[str, jwt.PyJWKClient]:
        import jwt  # deferred: PyJWT + cryptography cost ~40 ms of every cold start

        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched_at > _CONFIG_TTL_SECONDS:
                document = _fetch_json(self._url)
                issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
                if not isinstance(issuer, str) or not isinstance(jwks_uri, str):
                    raise ValueError("OpenID configuration lacks issuer or jwks_uri")
                self._issuer = issuer
                self._keys = jwt.PyJWKClient(
                    jwks_uri,
                    cache_keys=True,
                    timeout=_FETCH_TIMEOUT_SECONDS,
                    ssl_context=ssl.create_default_context(),
                )
                self._fetched_at = time.monotonic()
            return self._issuer, self._keys


def _fetch_json(url: str) -> dict[str, Any]:
    if not url.startswith("https://"):
        raise ValueError("OpenID configuration must be fetched over https")
    context = ssl.create_default_context()
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS, context=context) as response:  # noqa: S310
        document = json.loads(response.read(1 << 20))
    if not isinstance(document, dict):
        raise ValueError("OpenID configuration is not a JSON object")
    return document


_configurations: dict[str, _OpenIdConfiguration] = {}
_configurations_lock = threading.Lock()


def _configuration(url: str) -> _OpenIdConfiguration:
    with _configurations_lock:
        return _configurations.setdefault(url, _OpenIdConfiguration(url))


def reset_openid_cache() -> None:
    with _configurations_lock:
        _configurations.clear()


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "InvalidCallbackToken",
        "The callback must carry a valid ACS-signed bearer token.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def _keys_unavailable() -> ApiError:
    """503, so ACS retries the callback instead of dropping a state change."""
    return ApiError(
        503,
        "CallbackVerificationUnavailable",
        "The keys to verify ACS callbacks cannot be loaded right now.",
        headers={"Retry-After": "10"},
    )


def verify_callback_token(
    authorization: str | None, *, audience: str | None, openid_configuration_url: str
) -> dict[str, Any]:
    """Claims of a valid ACS callback token; raises ApiError(401) for any invalid one."""
    if not audience:
        raise SettingsError("ACS_RESOURCE_ID", "is missing (needed to verify ACS callbacks)")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized()
    import jwt

    try:
        issuer, keys = _configuration(openid_configuration_url).current()
    except (OSError, ValueError) as error:
        _LOG.error("Cannot load the ACS OpenID configuration: %s", type(error).__name__)
        raise _keys_unavailable() from None
    try:
        signing_key = keys.get_signing_key_from_jwt(token.strip())
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            signing_key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=_LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.PyJWKClientConnectionError:
        _LOG.error("Cannot fetch the ACS callback signing keys")
        raise _keys_unavailable() from None
    except jwt.PyJWTError as error:
        _LOG.warning("Refused a state callback: %s", type(error).__name__)
        raise _unauthorized() from None
    return claims
