"""The pure parts of the chunk transfer: range plan, block ids, Content-Range parsing."""

from __future__ import annotations

import base64
import itertools

from hypothesis import given
from hypothesis import strategies as st

from shared.transfer import block_id, parse_content_range, plan_ranges


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


def test_block_ids_are_deterministic_and_equally_long() -> None:
    assert block_id(0, 10) == block_id(0, 10)
    lengths = {len(block_id(offset, 4 * 2**20)) for offset in (0, 4 * 2**20, 10**12)}
    assert len(lengths) == 1
    assert len(base64.b64decode(block_id(10**12, 1))) <= 64


def test_block_id_differs_for_a_different_range() -> None:
    assert block_id(0, 10) != block_id(0, 11)


def test_content_range_is_parsed() -> None:
    assert parse_content_range("bytes 0-61/62") == (0, 61, 62)


def test_malformed_content_range_is_none() -> None:
    assert parse_content_range("bytes */62") is None
    assert parse_content_range(None) is None
