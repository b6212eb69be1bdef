"""Pure helpers of the orchestrator."""

from __future__ import annotations

from shared.archive.orchestration import waves


def test_waves_cover_every_chunk_once_in_order() -> None:
    assert [list(w) for w in waves(10, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_no_chunks_no_waves() -> None:
    assert waves(0, 8) == []
