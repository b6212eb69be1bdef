"""Hypothesis strategies for state callbacks: bodies built from the captured RecordingStateChanged
event and mutated, and bearer tokens that are valid (signed by the emulator's published key) or
forged in every way the route must notice."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import strategies as st

from devtools.acs_emulator import AcsEmulator
from tests.hostile.event_strategies import hostile_value, json_values
from tests.reference import real_state_changed_event

_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TokenKind(Enum):
    VALID = "valid"
    MISSING = "missing"
    NOT_BEARER = "not bearer"
    GARBAGE = "garbage"
    UNSIGNED = "alg none"
    OTHER_KEY = "signed by another key"
    EXPIRED = "expired"
    NOT_YET_VALID = "issued in the future"
    OTHER_AUDIENCE = "another resource"
    OTHER_ISSUER = "another issuer"
    TOO_LONG_LIVED = "valid for a year"
    TAMPERED = "payload changed after signing"
    HS256_WITH_PUBLIC_KEY = "HS256 keyed with the public JWK"
    REPLAYED = "already accepted once"

    @property
    def is_valid(self) -> bool:
        return self is TokenKind.VALID


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class Tokens:
    """Makes callback tokens of each kind; remembers every one, so the secret scan can look for them."""

    def __init__(self, emulator: AcsEmulator) -> None:
        self.emulator = emulator
        self.issued: list[str] = []
        self._accepted: list[str] = []

    def accepted(self, token: str) -> None:
        self._accepted.append(token)

    def make(self, kind: TokenKind) -> str | None:
        token = self._make(kind)
        if token is not None:
            self.issued.append(token)
        return token

    def _claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(datetime.now(UTC).timestamp())
        claims = {
            "iss": self.emulator.endpoint,
            "aud": self.emulator.resource_id,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        return {**claims, **overrides}

    def _kid(self) -> str:
        valid = self.emulator.sign_callback_token()
        return str(jwt.get_unverified_header(valid)["kid"])

    def _make(self, kind: TokenKind) -> str | None:
        emulator = self.emulator
        now = datetime.now(UTC)
        makers: dict[TokenKind, Callable[[], str | None]] = {
            TokenKind.VALID: emulator.sign_callback_token,
            TokenKind.MISSING: lambda: None,
            TokenKind.NOT_BEARER: lambda: None,
            TokenKind.GARBAGE: lambda: "not.a.jwt",
            TokenKind.UNSIGNED: lambda: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(self._claims())}.",
            TokenKind.OTHER_KEY: lambda: jwt.encode(
                self._claims(), _OTHER_KEY, algorithm="RS256", headers={"kid": self._kid()}
            ),
            TokenKind.EXPIRED: lambda: emulator.sign_callback_token(now=now - timedelta(hours=1)),
            TokenKind.NOT_YET_VALID: lambda: emulator.sign_callback_token(now=now + timedelta(hours=1)),
            TokenKind.OTHER_AUDIENCE: lambda: emulator.sign_callback_token(audience=str(uuid.uuid4())),
            TokenKind.OTHER_ISSUER: lambda: emulator.sign_callback_token(issuer="https://evil.example"),
            TokenKind.TOO_LONG_LIVED: lambda: emulator.sign_callback_token(lifetime=timedelta(days=365)),
            TokenKind.TAMPERED: self._tampered,
            TokenKind.HS256_WITH_PUBLIC_KEY: self._hs256_with_public_key,
            TokenKind.REPLAYED: self._replayed,
        }
        return makers[kind]()

    def _replayed(self) -> str:
        if not self._accepted:
            raise RuntimeError("no token was accepted yet: post one valid callback before replaying")
        return self._accepted[-1]

    def _tampered(self) -> str:
        header, _, signature = self.emulator.sign_callback_token().split(".")
        return f"{header}.{_b64(self._claims(aud=self.emulator.resource_id, extra='x'))}.{signature}"

    def _hs256_with_public_key(self) -> str:
        # The classic algorithm-confusion forgery: HMAC keyed with the public key the verifier publishes.
        with urllib.request.urlopen(self.emulator.jwks_url, timeout=10) as response:  # noqa: S310 - https emulator
            published = jwt.PyJWK(json.loads(response.read())["keys"][0]).key
        secret = published.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "typ": "JWT", "kid": self._kid()}
        signing_input = f"{_b64(header)}.{_b64(self._claims())}".encode()
        mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
        return f"{signing_input.decode()}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


def authorization_header(kind: TokenKind, token: str | None) -> str | None:
    if kind is TokenKind.MISSING:
        return None
    if kind is TokenKind.NOT_BEARER:
        return "Basic dXNlcjpwYXNzd29yZA=="
    return f"Bearer {token}"


@dataclass(frozen=True)
class CallbackBody:
    """A callback body and what the route must make of it with a valid token."""

    body: bytes
    recording_ids: tuple[str, ...]  # recordings the body talks about (unique per example)
    well_formed: bool  # a valid token must then get 204


def _state_event(recording_id: str, event_id: uuid.UUID) -> dict[str, Any]:
    event = copy.deepcopy(real_state_changed_event())
    event["id"] = str(event_id)
    event["data"]["recordingId"] = recording_id
    return event


def one_event_body(recording_id: str) -> bytes:
    """The captured event as ACS posts it (an array of one), about `recording_id`."""
    return json.dumps([_state_event(recording_id, uuid.uuid4())]).encode()


def recording_ids(prefix: str) -> st.SearchStrategy[str]:
    """Drawn, not made up with uuid4(), so hypothesis can replay a failure; the prefix keeps the
    recordings of one test apart from another's (hypothesis may draw the same uuid twice)."""
    return st.uuids().map(lambda value: f"{prefix}-{value.hex}")


@st.composite
def well_formed_bodies(draw: st.DrawFn, prefix: str = "signed") -> CallbackBody:
    """One to three captured events, with drawn event and recording ids."""
    recording = draw(recording_ids(prefix))
    events = [_state_event(f"{recording}-{i}", draw(st.uuids())) for i in range(draw(st.integers(1, 3)))]
    return CallbackBody(json.dumps(events).encode(), tuple(e["data"]["recordingId"] for e in events), True)


@st.composite
def callback_bodies(draw: st.DrawFn) -> CallbackBody:
    """The captured event (fresh ids each time), mutated, batched, or replaced by garbage."""
    choice = draw(st.integers(0, 9))
    recording = draw(recording_ids("signed"))
    if choice <= 2:
        return draw(well_formed_bodies())
    if choice <= 6:  # the captured event with one or more fields mutated
        event = _state_event(recording, draw(st.uuids()))
        for _ in range(draw(st.integers(1, 3))):
            data = event.get("data")
            target = data if isinstance(data, dict) and data and draw(st.booleans()) else event
            if not target:
                break
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.integers(0, 3)) == 0:
                target.pop(key)
            else:
                target[key] = draw(hostile_value(target[key], ["https://169.254.169.254/latest/meta-data"]))
        payload: object = [event] if draw(st.booleans()) else event
        return CallbackBody(json.dumps(payload).encode(), (recording,), False)
    if choice == 7:  # too many events, or a body over 64 KiB
        count = draw(st.sampled_from([0, 101, 400]))
        return CallbackBody(
            json.dumps([_state_event(recording, draw(st.uuids()))] * count).encode(), (recording,), False
        )
    if choice == 8:
        depth = draw(st.integers(65, 5000))
        return CallbackBody(b"[" * depth + b"]" * depth, (), False)
    body = draw(st.binary(max_size=512) | json_values.map(lambda value: json.dumps(value).encode()))
    return CallbackBody(body, (), False)
