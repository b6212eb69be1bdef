"""ISO 8601 / RFC 3339 times as ACS sends them (7 fractional digits, `Z` or an offset)."""

from __future__ import annotations

from datetime import datetime


def parse_time(value: str) -> datetime:
    """Parse an ACS timestamp; raises ValueError. Python 3.10 parses at most 6 fraction digits."""
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    return datetime.fromisoformat(text)
