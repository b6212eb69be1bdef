"""When a re-run of an archive may start: pure decisions, no storage."""

from __future__ import annotations

import pytest

from shared.archive.rerun import refusal


@pytest.mark.parametrize("runtime", ["Pending", "Running", "ContinuedAsNew", "Suspended"])
def test_a_running_archive_refuses_a_rerun_with_409(runtime: str) -> None:
    refused = refusal(runtime, "Failed")
    assert refused is not None
    assert (refused.status, refused.code) == (409, "ArchiveRunning")


@pytest.mark.parametrize(("runtime", "archive"), [("Completed", "Completed"), (None, "Completed")])
def test_a_completed_archive_refuses_a_rerun(runtime: str | None, archive: str) -> None:
    refused = refusal(runtime, archive)
    assert refused is not None
    assert refused.code == "ArchiveCompleted"


def test_an_expired_archive_is_not_archived_again() -> None:
    refused = refusal("Completed", "Expired")
    assert refused is not None
    assert refused.code == "ArchiveExpired"


@pytest.mark.parametrize(("runtime", "archive"), [("Failed", "Failed"), ("Terminated", None), (None, None)])
def test_a_failed_terminated_or_never_started_archive_may_run_again(
    runtime: str | None, archive: str | None
) -> None:
    assert refusal(runtime, archive) is None
