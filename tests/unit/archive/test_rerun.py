"""When a re-run of an archive may start: pure decisions, no storage."""

from __future__ import annotations

import pytest

from shared.archive.rerun import refusal
from shared.archive.states import ArchiveStatus as A
from shared.archive.states import RuntimeStatus as R


@pytest.mark.parametrize("runtime", [R.PENDING, R.RUNNING, R.CONTINUED_AS_NEW, R.SUSPENDED])
def test_a_running_archive_refuses_a_rerun_with_409(runtime: R) -> None:
    refused = refusal(runtime, A.ARCHIVING)
    assert refused is not None
    assert (refused.status, refused.code) == (409, "ArchiveRunning")


def test_a_retrying_archive_is_not_refused_it_is_woken() -> None:
    assert refusal(R.RUNNING, A.RETRYING) is None


@pytest.mark.parametrize(("runtime", "archive"), [(R.COMPLETED, A.COMPLETED), (None, A.COMPLETED)])
def test_a_completed_archive_refuses_a_rerun(runtime: R | None, archive: A) -> None:
    refused = refusal(runtime, archive)
    assert refused is not None
    assert refused.code == "ArchiveCompleted"


def test_an_expired_archive_is_not_archived_again() -> None:
    refused = refusal(R.COMPLETED, A.EXPIRED)
    assert refused is not None
    assert refused.code == "ArchiveExpired"


@pytest.mark.parametrize(
    ("runtime", "archive"),
    [(R.COMPLETED, A.LOST), (R.FAILED, A.ARCHIVING), (R.TERMINATED, A.RETRYING), (None, None)],
)
def test_a_lost_crashed_terminated_or_never_started_archive_may_run_again(
    runtime: R | None, archive: A | None
) -> None:
    assert refusal(runtime, archive) is None
