"""Verify that a state callback really comes from ACS.

ACS signs every Call Automation callback with a JWT in `Authorization: Bearer ...`. Its keys are
published through an OpenID configuration; the audience is the ACS resource's immutable resource
id; the token lives five minutes and a new one is made for every event sent (docs: "How to
secure webhook endpoint", Call Automation, learn.microsoft.com). We verify signature, issuer,
audience, expiry, a lifetime of at most five minutes, and that this worker has not accepted the
same token before; anything else is refused with 401.
"""

from __future__ import annotations

import hashlib
import json
import logging
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from shared.errors import ApiError, SettingsError
from shared.worker_cache import on_reset

if TYPE_CHECKING:
    import jwt

_LOG = logging.getLogger(__name__)
_CONFIG_TTL_SECONDS: Final = 3600
_LEEWAY_SECONDS: Final = 60
_FETCH_TIMEOUT_SECONDS: Final = 10
_MAX_LIFETIME_SECONDS: Final = 300  # the documented lifetime of an ACS callback token


@dataclass(frozen=True)
class VerifiedToken:
    """A callback token that passed every check; `token_id` is its `jti` (else its hash)."""

    claims: dict[str, Any]
    token_id: str


class _SeenTokens:
    """Token ids accepted by this worker, kept until they expire, so a replay is refused.

    Per worker process: a replay sent to another instance of a scaled-out app is not caught
    here (the event-id deduplication of the catalog still records each event once).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def claim(self, token_id: str, expires_at: float) -> bool:
        now = time.time()
        with self._lock:
            for seen, expiry in list(self._expiry.items()):
                if expiry + _LEEWAY_SECONDS < now:
                    del self._expiry[seen]
            if token_id in self._expiry:
                return False
            self._expiry[token_id] = expires_at
            return True

    def release(self, token_id: str) -> None:
        with self._lock:
            self._expiry.pop(token_id, None)

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()


_seen_tokens = _SeenTokens()


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


@on_reset
def reset_openid_cache() -> None:
    """Forget the cached OpenID configuration and signing keys, and the tokens seen (tests rotate
    them; shared.worker_cache runs this on every reset)."""
    with _configurations_lock:
        _configurations.clear()
    _seen_tokens.clear()


def forget_callback_token(verified: VerifiedToken) -> None:
    """Accept this token again: its callback failed (503/502), and ACS may retry with it."""
    _seen_tokens.release(verified.token_id)


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
) -> VerifiedToken:
    """A valid ACS callback token, now marked as used; raises ApiError(401) for any invalid one."""
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
    lifetime = claims["exp"] - claims["iat"]
    if not isinstance(lifetime, int | float) or lifetime > _MAX_LIFETIME_SECONDS + _LEEWAY_SECONDS:
        _LOG.warning("Refused a state callback: token lifetime is longer than ACS issues")
        raise _unauthorized()
    jti = claims.get("jti")
    token_id = jti if isinstance(jti, str) and jti else hashlib.sha256(token.strip().encode()).hexdigest()
    if not _seen_tokens.claim(token_id, float(claims["exp"])):
        _LOG.warning("Refused a state callback: the token was already used")
        raise _unauthorized()
    return VerifiedToken(claims=claims, token_id=token_id)
