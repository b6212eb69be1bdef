"""When a re-run of an archive may start: pure decisions, no storage."""

from __future__ import annotations

import pytest

from shared.archive.rerun import refusal
from shared.archive.states import ArchiveStatus as A
from shared.archive.states import RuntimeStatus as R


@pytest.mark.parametrize("runtime", [R.PENDING, R.RUNNING, R.CONTINUED_AS_NEW, R.SUSPENDED])
def test_a_running_archive_refuses_a_rerun_with_409(runtime: R) -> None:
    refused = refusal(runtime, A.FAILED)
    assert refused is not None
    assert (refused.status, refused.code) == (409, "ArchiveRunning")


@pytest.mark.parametrize(("runtime", "archive"), [(R.COMPLETED, A.COMPLETED), (None, A.COMPLETED)])
def test_a_completed_archive_refuses_a_rerun(runtime: R | None, archive: A) -> None:
    refused = refusal(runtime, archive)
    assert refused is not None
    assert refused.code == "ArchiveCompleted"


def test_an_expired_archive_is_not_archived_again() -> None:
    refused = refusal(R.COMPLETED, A.EXPIRED)
    assert refused is not None
    assert refused.code == "ArchiveExpired"


@pytest.mark.parametrize(("runtime", "archive"), [(R.FAILED, A.FAILED), (R.TERMINATED, None), (None, None)])
def test_a_failed_terminated_or_never_started_archive_may_run_again(
    runtime: R | None, archive: A | None
) -> None:
    assert refusal(runtime, archive) is None
