"""Which existing orchestration states mean 'do not start the archive again'."""

from __future__ import annotations

import pytest

from shared.archive.start import should_start


@pytest.mark.parametrize("status", ["Pending", "Running", "Completed", "ContinuedAsNew", "Suspended"])
def test_active_or_done_archive_is_not_started_again(status: str) -> None:
    assert should_start(status) is False


@pytest.mark.parametrize("status", [None, "Failed", "Terminated", "Canceled"])
def test_missing_failed_or_terminated_archive_is_started(status: str | None) -> None:
    assert should_start(status) is True
