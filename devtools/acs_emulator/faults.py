"""Fault injection: rules scoped to a path pattern and a count, applied to requests and events.

HTTP faults (any non-admin route; ``path`` is a regex *searched* in the decoded request path):

* ``status``: answer ``status`` (CommunicationErrorResponse body) with ``Retry-After`` if given,
  before authentication, like a throttling front end.
* ``latency``: wait ``seconds`` before answering.
* ``bandwidth``: pace the body at ``bytes_per_second``.
* ``truncate``: send the full headers (declared Content-Length), ``after_bytes`` of the body, then
  close cleanly (FIN) — the client sees a short body.
* ``reset``: send ``after_bytes`` of the body, then reset the connection (RST).

Event faults (``path`` is searched in the webhook URL's path; ``event_type``, if given, is the one
event type the rule applies to, e.g. only RecordingFileStatusUpdated):

* ``duplicate_event``: deliver the event twice (same event id), as Event Grid may.
* ``reorder_event``: hold the event and deliver it after the next event to the same webhook.

``count`` is how many requests/events a rule affects (``None``: until cleared). Each matching
request consumes one count of every matching rule; the rule records how often it was applied.

``probability`` (0 < p <= 1, default 1) makes a rule fire on only that share of the matching
requests, drawn from the rule's own ``random.Random(seed)``: the n-th matching request of a rule
gets the n-th draw, so a seed replays the same decisions (which request is n-th still depends on
timing when requests race). A request the rule skips consumes no count. Without a seed one is
picked and listed with the rule, so a failed run can be replayed. Give rules that should be
independent different seeds: two rules with one seed decide alike. ``matched`` counts the
requests a rule considered, ``applied`` the ones it hit.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .http_types import ApiError, ConnectionAbortError, Response

FaultKind = Literal["status", "latency", "bandwidth", "truncate", "reset", "duplicate_event", "reorder_event"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
HTTP_FAULTS = frozenset({"status", "latency", "bandwidth", "truncate", "reset"})
EVENT_FAULTS = frozenset({"duplicate_event", "reorder_event"})

_STATUS_CODES = {
    408: "RequestTimeout",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass
class FaultRule:
    """One configured fault. Mutable counters are only touched under the injector's lock."""

    id: str
    kind: FaultKind
    path: str
    count: int | None
    method: str | None = None
    status: int = 503
    retry_after: int | None = None
    after_bytes: int = 0
    seconds: float = 0.0
    bytes_per_second: int = 0
    probability: float = 1.0
    seed: int | None = None
    event_type: str | None = None
    applied: int = 0
    matched: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Not for security: a seeded, replayable sequence is the point.
        self._rng = random.Random(self.seed)  # noqa: S311

    def fires(self) -> bool:
        """Decide for one matching request (one draw when probabilistic); caller holds the lock."""
        self.matched += 1
        return self.probability >= 1.0 or self._rng.random() < self.probability

    def matches(self, method: str | None, path: str, event_type: str | None = None) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.event_type is not None and event_type != self.event_type:
            return False
        if self.method is not None and method is not None and self.method != method.upper():
            return False
        return re.search(self.path, path) is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "count": self.count,
            "method": self.method,
            "status": self.status,
            "retryAfter": self.retry_after,
            "afterBytes": self.after_bytes,
            "seconds": self.seconds,
            "bytesPerSecond": self.bytes_per_second,
            "probability": self.probability,
            "seed": self.seed,
            "eventType": self.event_type,
            "applied": self.applied,
            "matched": self.matched,
        }


class FaultInjector:
    """Thread-safe rule list; ``take`` picks and consumes the rules for one request or event."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(
        self,
        kind: FaultKind,
        path: str = "",
        *,
        count: int | None = 1,
        method: str | None = None,
        status: int = 503,
        retry_after: int | None = None,
        after_bytes: int = 0,
        seconds: float = 0.0,
        bytes_per_second: int = 0,
        probability: float = 1.0,
        seed: int | None = None,
        event_type: str | None = None,
    ) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        re.compile(path)  # fail early on a bad pattern
        if count is not None and count < 1:
            raise ValueError("count must be >= 1 or None")
        if kind == "status" and not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status")
        if kind == "bandwidth" and bytes_per_second <= 0:
            raise ValueError("bandwidth needs bytes_per_second > 0")
        if after_bytes < 0 or seconds < 0:
            raise ValueError("after_bytes and seconds must be >= 0")
        if isinstance(probability, bool) or not isinstance(probability, (int, float)):
            raise ValueError("probability must be a number")
        if not (math.isfinite(probability) and 0.0 < probability <= 1.0):
            raise ValueError("probability must be > 0 and <= 1")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        if event_type is not None and (kind not in EVENT_FAULTS or not isinstance(event_type, str)):
            raise ValueError("event_type is for event faults (duplicate_event, reorder_event) and a string")
        if seed is None and probability < 1.0:
            seed = secrets.randbits(32)  # listed with the rule, so the run can be replayed
        with self._lock:
            rule = FaultRule(
                id=str(next(self._ids)),
                kind=kind,
                path=path,
                count=count,
                method=method.upper() if method else None,
                status=status,
                retry_after=retry_after,
                after_bytes=after_bytes,
                seconds=seconds,
                bytes_per_second=bytes_per_second,
                probability=float(probability),
                seed=seed,
                event_type=event_type,
            )
            self._rules.append(rule)
        return rule

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(
        self, kinds: frozenset[str], method: str | None, path: str, *, event_type: str | None = None
    ) -> list[FaultRule]:
        """Rules of ``kinds`` matching this request/event; each one's count is consumed."""
        taken: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.kind in kinds and rule.matches(method, path, event_type) and rule.fires():
                    if rule.count is not None:
                        rule.count -= 1
                    rule.applied += 1
                    taken.append(rule)
        return taken


def status_error(rule: FaultRule) -> ApiError:
    headers = [] if rule.retry_after is None else [("Retry-After", str(rule.retry_after))]
    code = _STATUS_CODES.get(rule.status, str(rule.status))
    return ApiError(rule.status, code, "Injected fault (ACS emulator).", headers=headers)


def _paced(body: Iterable[bytes | memoryview], rate: int) -> Iterator[bytes | memoryview]:
    """Re-slice the body into ~50 ms pieces and sleep so the average rate stays at ``rate``."""
    piece = max(1, rate // 20)
    started = time.monotonic()
    sent = 0
    for chunk in body:
        view = memoryview(chunk)
        for offset in range(0, len(view), piece):
            part = view[offset : offset + piece]
            ahead = (sent / rate) - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
            yield part
            sent += len(part)


def _cut(body: Iterable[bytes | memoryview], limit: int, *, reset: bool) -> Iterator[bytes | memoryview]:
    sent = 0
    for chunk in body:
        if sent + len(chunk) >= limit:
            yield chunk[: limit - sent]
            break
        yield chunk
        sent += len(chunk)
    if reset:
        time.sleep(0.05)  # let the bytes before the reset reach the client first
        raise ConnectionAbortError()


def apply_body_faults(response: Response, rules: list[FaultRule]) -> Response:
    """Wrap the response body for bandwidth/truncate/reset rules (headers stay unchanged)."""
    body_rules = [r for r in rules if r.kind in ("bandwidth", "truncate", "reset")]
    if not body_rules:
        return response
    body: Iterable[bytes | memoryview]
    if isinstance(response.body, bytes):
        body, length = [response.body], len(response.body)
    else:
        body, length = response.body, response.content_length or 0
    for rule in body_rules:
        if rule.kind == "bandwidth":
            body = _paced(body, rule.bytes_per_second)
    for rule in body_rules:
        if rule.kind in ("truncate", "reset"):
            body = _cut(body, rule.after_bytes, reset=rule.kind == "reset")
            break
    return Response(status=response.status, body=body, headers=response.headers, content_length=length)
