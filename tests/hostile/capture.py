"""What the hostile suite saw: every response it received and every log record the stack wrote.

Both feed the secret scan at the end of the folder, and the response count per route is the floor
that keeps the generated traffic from shrinking unnoticed.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import requests

EVENT_GRID_ROUTE = "POST /runtime/webhooks/eventgrid"


def operation_patterns(openapi: dict[str, Any]) -> list[tuple[str, re.Pattern[str]]]:
    """("GET /recordings/{recordingId}", regex of the raw request path) for every documented operation."""
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for template, item in openapi["paths"].items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                patterns.append((f"{method.upper()} {template}", re.compile(f"/api{regex}/?")))
    return patterns


class Traffic:
    """A requests session that counts each response by route and keeps its status, headers and body."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.session = requests.Session()
        self.session.hooks["response"].append(self._record)
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.captures: list[tuple[str, str]] = []
        self._patterns = operation_patterns(openapi)
        self._lock = threading.Lock()

    @property
    def operations(self) -> list[str]:
        return [label for label, _ in self._patterns]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def route_of(self, method: str, url: str) -> str:
        path = urlsplit(url).path
        if path.rstrip("/") == "/runtime/webhooks/eventgrid":
            return EVENT_GRID_ROUTE if method == "POST" else f"{method} /runtime/webhooks/eventgrid"
        for label, pattern in self._patterns:
            if label.startswith(f"{method} ") and pattern.fullmatch(path):
                return label
        return f"{method} (undocumented)"

    def _record(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        request = response.request
        route = self.route_of(str(request.method), str(request.url))
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
        text = f"HTTP {response.status_code}\n{headers}\n\n{response.content.decode('utf-8', 'replace')}"
        with self._lock:
            self.counts[route] += 1
            self.statuses[route, response.status_code] += 1
            self.captures.append((f"response {len(self.captures)} of {route}", text))


# The emulator stands in for ACS and Event Grid: their own logs never reach the app's log sink, so
# they are not part of what the app and its host must keep clean (the emulator logs the webhook and
# callback URLs it posts to, keys included, as a local tool may: `make run` prints the key itself).
STAND_IN_LOGGERS = ("devtools.acs_emulator",)


class LogCorpus(logging.Handler):
    """Every log record the app and its host write (the local host, the app, the Durable engine,
    the Azure SDKs), formatted as a log sink would store it, tracebacks included."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.stand_in_records = 0
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(STAND_IN_LOGGERS):
            self.stand_in_records += 1
            return
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is itself worth seeing
            line = f"{record.levelname} {record.name}: unformattable {record.msg!r} {record.args!r}"
        with self._lines_lock:
            self.lines.append(line)

    @property
    def text(self) -> str:
        with self._lines_lock:
            return "\n".join(self.lines)
