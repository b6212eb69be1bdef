"""Hypothesis strategies for the values a client types into query strings and paths: numbers and times.

schemathesis draws from the schema (an integer from 0 to 999, a date-time), which never produces what
broke the API in issue 24: digits that `str.isdigit()` takes and `int()` refuses (`²`, `①`), digits
`int()` takes that are no ASCII (`٣`), numbers with thousands of digits (over Python's int-string
limit), and times at the edges of the calendar (year 1, year 9999, offsets that carry a time over
the edge, the epoch, the last instant a 13-digit row key holds). These strategies make them, mixed
with ordinary values so the accepting paths are exercised too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

# Characters Unicode calls digits or numbers: `str.isdigit()` is true for many of them (²,①),
# `int()` takes only the decimal ones (٣, the fullwidth digits), and the API must take neither.
unicode_digits = st.characters(categories=("Nd", "No", "Nl"), exclude_characters="0123456789")


def _with_one_swapped(number: str, digit: str) -> str:
    return number[:-1] + digit if number else digit


odd_numbers = st.one_of(
    st.integers(-5, 1200).map(str),  # ordinary, in and out of range
    st.text(unicode_digits, min_size=1, max_size=4),
    st.builds(_with_one_swapped, st.integers(0, 999).map(str), unicode_digits),
    st.integers(4, 6000).map(lambda length: "9" * length),  # past int()'s 4,300-digit limit, too
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["+1", "-0", "1e2", "0x1f", "1_0", " 7", "7 ", "1.0", "\uff10", "00001", "0" * 5000]),
)


def plain_number(value: str, maximum: int, minimum: int = 0) -> int | None:
    """The number the API may read from `value` (1 to 3 ASCII digits, from `minimum` to `maximum`), or
    None when it must refuse it."""
    if not re.fullmatch(r"[0-9]{1,3}", value):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


# The instants where arithmetic on times breaks: the calendar's ends, the epoch (before it a row key
# grows a 14th digit), the last instant a 13-digit row key holds, and today.
EDGES = (
    datetime(1, 1, 1),
    datetime(1, 1, 31, 23, 59, 59),
    datetime(1969, 12, 31, 23, 59, 59, 999000),
    datetime(1970, 1, 1),
    datetime(1970, 1, 1, 0, 0, 0, 1000),
    datetime(1970, 1, 31),
    datetime(2286, 11, 20, 17, 46, 39, 999000),
    datetime(2286, 11, 20, 17, 46, 40),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
)
ZONES = ("Z", "+00:00", "+01:00", "-01:00", "+14:00", "-14:00", "+23:59", "-23:59", "+05:30")


def _near(edge: datetime, seconds: int) -> datetime:
    try:
        return edge + timedelta(seconds=seconds)
    except OverflowError:
        return edge


@st.composite
def edge_times(draw: st.DrawFn) -> str:
    """An ISO 8601 time near an edge of the calendar (or now), in some zone, with 0 to 7 fraction digits."""
    now = datetime.now(UTC).replace(tzinfo=None)
    anchor = draw(st.sampled_from((*EDGES, now - timedelta(hours=1), now)))
    moment = _near(anchor, draw(st.sampled_from((0, 0, 1, -1, 3600, -3600, 86400 * 40, -86400 * 40))))
    fraction = draw(st.sampled_from(("", ".0", ".999", ".000001", ".1234567")))
    return moment.isoformat(timespec="seconds") + fraction + draw(st.sampled_from(ZONES))


def utc_instant(value: str) -> datetime | None:
    """What `value` means in UTC, or None when it is no time Python can hold there (year 0 or 10000)."""
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # at most 6 fraction digits for fromisoformat: the API truncates the same way ACS times are
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
