"""Find credentials in captured text: logs, response bodies, headers, exported telemetry.

The suites that drive the stack hard (hostile input, chaos) scan everything they captured. Two kinds
of evidence count: the exact secret values the test knows (access keys, function keys, account
keys), and the shapes any credential takes (``AccountKey=``, SAS ``sig=``, bearer tokens, JWTs).
A finding names the kind and where it was, never the secret itself, so a failing test does not
print what it found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("account key in a connection string", re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}", re.IGNORECASE)),
    ("ACS access key in a connection string", re.compile(r"accesskey=[A-Za-z0-9+/=]{20,}", re.IGNORECASE)),
    ("SAS signature", re.compile(r"[?&]sig=[A-Za-z0-9%+/=]{16,}", re.IGNORECASE)),
    ("bearer token", re.compile(r"Bearer\s+[A-Za-z0-9._~+/-]{16,}=*")),
    ("JSON web token", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("function key in a URL", re.compile(r"[?&]code=[A-Za-z0-9_%=-]{16,}")),
)
_MIN_KNOWN = 8  # shorter "secrets" would match ordinary text


@dataclass(frozen=True)
class Finding:
    """One credential found: what kind, in which capture, at which offset (never the value)."""

    kind: str
    source: str
    offset: int

    def __str__(self) -> str:
        return f"{self.kind} in {self.source} at offset {self.offset}"


def find_secrets(text: str, *, source: str, known: Iterable[str] = ()) -> list[Finding]:
    """Every credential in `text`: the `known` values verbatim, and any credential-shaped string."""
    findings: list[Finding] = []
    for value in known:
        if len(value) < _MIN_KNOWN:
            continue
        start = text.find(value)
        while start != -1:
            findings.append(Finding("known secret value", source, start))
            start = text.find(value, start + 1)
    for kind, pattern in _SHAPES:
        findings.extend(Finding(kind, source, match.start()) for match in pattern.finditer(text))
    return sorted(findings, key=lambda finding: (finding.source, finding.offset))


def scan_all(captures: Iterable[tuple[str, str]], *, known: Iterable[str] = ()) -> list[Finding]:
    """`find_secrets` over many (source, text) captures, e.g. every log file and response body."""
    secrets = tuple(known)
    return [
        finding for source, text in captures for finding in find_secrets(text, source=source, known=secrets)
    ]


def telemetry_files(directory: Path) -> list[tuple[str, str]]:
    """The telemetry a local host's worker exported to files (devtools/telemetry_files.py), as captures."""
    if not directory.is_dir():
        return []
    return [
        (f"telemetry {path.name}", path.read_text(errors="replace"))
        for path in sorted(directory.rglob("*.txt"))
    ]


def exported_telemetry(spans: Iterable[Any], metrics: Any, logs: Iterable[Any] = ()) -> list[tuple[str, str]]:
    """What the OpenTelemetry SDK's in-memory exporters hold, as captures: every span (name, attributes,
    events, status), the metrics data, every log record, as the SDK serializes them for export."""
    captures = [(f"span {span.name}", span.to_json()) for span in spans]
    if metrics is not None:
        captures.append(("metrics", metrics.to_json()))
    captures += [("log record", log.to_json()) for log in logs]
    return captures
