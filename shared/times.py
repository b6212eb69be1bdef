"""Times as ACS and our clients send them (RFC 3339: up to 7 fractional digits, `Z` or an offset),
and the one rule for a time without a zone."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 / ISO 8601 time; raises ValueError. (`fromisoformat` takes any number of
    fractional digits and `Z`, but not the lower-case `z` RFC 3339 also allows.)"""
    text = value.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    return datetime.fromisoformat(text)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken to be UTC already (as ACS's are)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
