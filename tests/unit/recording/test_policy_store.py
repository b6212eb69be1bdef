"""A policy write's precondition headers (pure): If-Match an ETag or `*`, or If-None-Match `*`."""

from __future__ import annotations

import pytest

from shared.errors import ApiError
from shared.recording.policy_store import Precondition, precondition

ETAG = "W/\"datetime'2026-12-06T12%3A00%3A00.1234567Z'\""


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "expected"),
    [
        (None, None, Precondition()),
        (ETAG, None, Precondition(if_match=ETAG)),
        ('"strong"', None, Precondition(if_match='"strong"')),
        ("*", None, Precondition(if_match="*")),
        (None, "*", Precondition(if_none_match=True)),
    ],
)
def test_the_headers_say_what_must_hold(
    if_match: str | None, if_none_match: str | None, expected: Precondition
) -> None:
    assert precondition(if_match, if_none_match) == expected


@pytest.mark.parametrize(
    ("if_match", "if_none_match", "target"),
    [
        ("abc", None, "If-Match"),  # not quoted: no ETag we answered
        ('"a", "b"', None, "If-Match"),
        ('"' + "x" * 300 + '"', None, "If-Match"),
        ('"a\x01"', None, "If-Match"),
        (None, '"etag"', "If-None-Match"),
        (ETAG, "*", "If-None-Match"),
    ],
)
def test_a_malformed_or_contradictory_precondition_is_a_400_naming_it(
    if_match: str | None, if_none_match: str | None, target: str
) -> None:
    with pytest.raises(ApiError) as refused:
        precondition(if_match, if_none_match)
    assert (refused.value.status, refused.value.target) == (400, target)
