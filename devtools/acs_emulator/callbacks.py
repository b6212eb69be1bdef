"""RecordingStateChanged callbacks: CloudEvent bodies, signed JWTs, and loopback-only delivery.

The real service POSTs a JSON array holding one CloudEvent to the recordingStateCallbackUri, with
``Authorization: Bearer <JWT>`` that webhook code verifies via OpenID discovery (audience = the
ACS resource's immutable id). The emulator signs with its own RSA key and serves its own OpenID
configuration and JWKS, so that verification code is exercised for real.

SAFETY: deliveries only ever go to loopback, through :func:`.webhooks.send`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .state import RecordingSnapshot, StateChange
from .webhooks import send

log = logging.getLogger(__name__)

EVENT_TYPE = "Microsoft.Communication.RecordingStateChanged"
TOKEN_LIFETIME = timedelta(minutes=5)

DeliveryOutcome = Literal["delivered", "failed", "skipped"]


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def format_event_time(moment: datetime) -> str:
    """``2025-06-13T19:03:17.8132826+00:00``: seven fractional digits like the captured events."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0+00:00"


class CallbackSigner:
    """RSA key pair (generated per emulator run) that signs callback JWTs and publishes a JWKS.

    The real issuer/jwks_uri values of ACS are not in the reference material; the emulator uses its
    own endpoint as issuer. Claims: iss, aud (= ACS resource id), iat, nbf, exp (+5 min), jti.
    """

    def __init__(self, issuer: str, audience: str, lifetime: timedelta = TOKEN_LIFETIME) -> None:
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        self._public_jwk = {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)}
        # RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
        canonical = json.dumps(self._public_jwk, separators=(",", ":"), sort_keys=True).encode("ascii")
        self.kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode("ascii").rstrip("=")

    def jwks(self) -> dict[str, Any]:
        return {"keys": [{**self._public_jwk, "use": "sig", "alg": "RS256", "kid": self.kid}]}

    def token(
        self,
        now: datetime | None = None,
        *,
        audience: str | None = None,
        issuer: str | None = None,
        lifetime: timedelta | None = None,
    ) -> str:
        """A callback JWT; ``audience``/``issuer``/``now``/``lifetime`` overrides let tests forge
        bad tokens."""
        issued = int((now or datetime.now(UTC)).timestamp())
        claims = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int((lifetime or self.lifetime).total_seconds()),
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


def build_state_changed_event(snapshot: RecordingSnapshot, change: StateChange) -> dict[str, Any]:
    """One CloudEvent shaped like ``recording-state-changed.cloudevent.real.json``.

    ``data.callConnectionId`` is the recording bot's id (PlatformEndpointId inside the recording id)
    as in the capture. ``data.version`` carries the api-version of the start request (INFERRED: the
    capture shows 2025-05-15, the SDK default at capture time).
    """
    source = f"calling/recordings/{snapshot.server_call_id}/{snapshot.recording_id}/RecordingStateChanged"
    started = snapshot.activated_at or snapshot.started_at
    return {
        "id": str(uuid.uuid4()),
        "source": source,
        "type": EVENT_TYPE,
        "data": {
            "recordingId": snapshot.recording_id,
            "state": change.state,
            "startDateTime": format_event_time(started),
            "recordingKind": "azureCommunicationServices",
            "resultInformation": {"code": 200, "subCode": 0, "message": ""},
            "version": snapshot.api_version,
            "callConnectionId": snapshot.bot_connection_id,
            "serverCallId": snapshot.server_call_id,
            "correlationId": snapshot.correlation_id,
            "publicEventType": EVENT_TYPE,
        },
        "time": format_event_time(change.at),
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": source,
    }


@dataclass(frozen=True)
class CallbackDelivery:
    """One delivery attempt (or a skipped delivery), kept for tests and the admin API."""

    recording_id: str
    url: str
    headers: dict[str, str]
    body: bytes
    attempt: int
    outcome: DeliveryOutcome
    status: int | None
    error: str | None
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        headers = {
            k: ("Bearer <redacted>" if k.lower() == "authorization" else v) for k, v in self.headers.items()
        }
        return {
            "recordingId": self.recording_id,
            "url": self.url,
            "headers": headers,
            "body": json.loads(self.body),
            "attempt": self.attempt,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "at": self.at.isoformat(),
        }


@dataclass
class _Job:
    recording_id: str
    url: str
    body: bytes


class CallbackDispatcher:
    """Background delivery, in order per recording, with a short timeout and a few retries."""

    def __init__(
        self,
        signer: CallbackSigner,
        tls_context: ssl.SSLContext,
        *,
        timeout: float = 3.0,
        retry_delays: Sequence[float] = (0.2, 0.5),
        max_workers: int = 4,
    ) -> None:
        self._signer = signer
        self._tls = tls_context
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="acs-emulator-callback"
        )
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queues: dict[str, deque[_Job]] = {}
        self._pending = 0
        self._closed = False
        self._deliveries: list[CallbackDelivery] = []

    @property
    def deliveries(self) -> list[CallbackDelivery]:
        with self._lock:
            return list(self._deliveries)

    def clear(self) -> None:
        with self._lock:
            self._deliveries.clear()

    def submit(self, recording_id: str, url: str, events: list[dict[str, Any]]) -> None:
        """Queue a delivery; returns immediately. Order is preserved per recording."""
        job = _Job(recording_id=recording_id, url=url, body=json.dumps(events).encode("utf-8"))
        with self._lock:
            if self._closed:
                return
            self._pending += 1
            queue = self._queues.get(recording_id)
            if queue is not None:
                queue.append(job)
                return
            self._queues[recording_id] = deque([job])
        self._executor.submit(self._drain, recording_id)

    def _drain(self, recording_id: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[recording_id]
                if not queue:
                    del self._queues[recording_id]
                    return
                job = queue[0]
            try:
                self._deliver(job)
            except Exception:  # a bug here must not wedge the queue
                log.exception("callback delivery crashed")
            with self._lock:
                queue.popleft()
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()

    def _record(
        self,
        job: _Job,
        headers: dict[str, str],
        attempt: int,
        outcome: DeliveryOutcome,
        status: int | None,
        error: str | None,
    ) -> None:
        entry = CallbackDelivery(
            recording_id=job.recording_id,
            url=job.url,
            headers=headers,
            body=job.body,
            attempt=attempt,
            outcome=outcome,
            status=status,
            error=error,
            at=datetime.now(UTC),
        )
        with self._lock:
            self._deliveries.append(entry)
        log.info("callback %s attempt %d to %s: %s %s", outcome, attempt, job.url, status or "", error or "")

    def _deliver(self, job: _Job) -> None:
        attempts = 1 + len(self._retry_delays)
        for attempt in range(1, attempts + 1):
            if self._closed:
                return
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self._signer.token()}",
            }
            answer = send("POST", job.url, headers, job.body, timeout=self._timeout, tls=self._tls)
            if answer.skipped is not None:
                self._record(job, {}, attempt, "skipped", None, answer.skipped)
                return
            if answer.ok:
                self._record(job, headers, attempt, "delivered", answer.status, None)
                return
            self._record(job, headers, attempt, "failed", answer.status, answer.error)
            retryable = answer.status is None or answer.status in (408, 429) or answer.status >= 500
            if not retryable or attempt == attempts:
                return
            time.sleep(self._retry_delays[attempt - 1])

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued delivery finished (True) or the timeout passed (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
