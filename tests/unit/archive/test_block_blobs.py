"""The pure parts of writing the archive's blobs: block ids."""

from __future__ import annotations

import base64

from shared.archive.block_blobs import block_id, reused_blocks


def test_block_ids_are_deterministic_and_equally_long() -> None:
    assert block_id(0, 10) == block_id(0, 10)
    lengths = {len(block_id(offset, 4 * 2**20)) for offset in (0, 4 * 2**20, 10**12)}
    assert len(lengths) == 1
    assert len(base64.b64decode(block_id(10**12, 1))) <= 64


def test_block_id_differs_for_a_different_range() -> None:
    assert block_id(0, 10) != block_id(0, 11)


def test_only_blocks_staged_with_the_ranges_size_count_as_reused() -> None:
    ranges = [(0, 10), (10, 10), (20, 5)]
    staged = {block_id(0, 10): 10, block_id(10, 10): 7, block_id(99, 1): 1}
    assert reused_blocks(ranges, staged) == 1
