"""The pure parts of reading from the recording host: the range plan, Content-Range, the checked answer."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.archive.range_reads import RangeIgnoredError, checked_span, parse_content_range, plan_ranges
from shared.errors import TransferError


@given(total=st.integers(min_value=0, max_value=10**12), size=st.integers(min_value=1, max_value=2**33))
def test_ranges_cover_the_content_exactly_once_in_order(total: int, size: int) -> None:
    ranges = plan_ranges(total, size) if total // size < 10_000 else []
    if ranges:
        assert ranges[0][0] == 0
        assert all(a[0] + a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert ranges[-1][0] + ranges[-1][1] == total
        assert all(0 < length <= size for _, length in ranges)


def test_empty_content_has_no_ranges() -> None:
    assert plan_ranges(0, 100) == []


def test_content_range_is_parsed() -> None:
    assert parse_content_range("bytes 0-61/62") == (0, 61, 62)


def test_malformed_content_range_is_none() -> None:
    assert parse_content_range("bytes */62") is None
    assert parse_content_range(None) is None


class Answer:
    """The two things `checked_span` reads from an HTTP answer."""

    def __init__(self, status: int, content_range: str | None = None, length: str | None = None) -> None:
        self.status_code = status
        self.headers = {k: v for k, v in (("Content-Range", content_range), ("Content-Length", length)) if v}


def checked(answer: Answer, offset: int, length: int, total: int | None) -> tuple[int, int]:
    return checked_span(answer, offset, length, total)  # type: ignore[arg-type]


def test_exact_range_answer_is_accepted() -> None:
    assert checked(Answer(206, "bytes 100-199/1000"), 100, 100, 1000) == (100, 1000)


def test_first_range_learns_the_total_and_may_be_short() -> None:
    assert checked(Answer(206, "bytes 0-61/62"), 0, 4096, None) == (62, 62)


def test_full_answer_to_the_first_range_of_a_small_file_is_accepted() -> None:
    assert checked(Answer(200, "bytes 0-61/62"), 0, 4096, None) == (62, 62)


@pytest.mark.parametrize(
    ("answer", "offset"),
    [
        (Answer(200, None, "200000000"), 0),
        (Answer(200, "bytes 0-199999999/200000000"), 0),
        (Answer(200, "bytes 0-199999999/200000000"), 8192),
    ],
)
def test_a_whole_body_answer_to_a_range_switches_to_reading_it_in_order(answer: Answer, offset: int) -> None:
    with pytest.raises(RangeIgnoredError) as ignored:
        checked(answer, offset, 4096, None)
    assert ignored.value.total == 200_000_000


@pytest.mark.parametrize(
    ("answer", "offset", "length", "total"),
    [
        (Answer(206, "bytes 0-199999999/200000000"), 0, 4096, None),  # more than asked: never buffered
        (Answer(206, "bytes 100-199/2000"), 100, 100, 1000),  # the file changed size
        (Answer(206, "bytes 0-4095/100"), 0, 4096, None),  # inconsistent
        (Answer(206, "bytes 50-149/1000"), 100, 100, 1000),  # another range
        (Answer(206, None), 0, 4096, None),  # no Content-Range
    ],
)
def test_answer_that_is_not_exactly_the_range_asked_for_is_refused(
    answer: Answer, offset: int, length: int, total: int | None
) -> None:
    with pytest.raises(TransferError):
        checked(answer, offset, length, total)
