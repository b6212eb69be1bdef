"""Which existing orchestration states mean 'do not start the archive again'."""

from __future__ import annotations

import pytest

from shared.archive.start import should_start
from shared.archive.states import RuntimeStatus as R
from shared.archive.states import runtime_status


@pytest.mark.parametrize("status", [R.PENDING, R.RUNNING, R.COMPLETED, R.CONTINUED_AS_NEW, R.SUSPENDED])
def test_active_or_done_archive_is_not_started_again(status: R) -> None:
    assert should_start(status) is False


@pytest.mark.parametrize("status", [None, R.FAILED, R.TERMINATED, R.CANCELED])
def test_missing_failed_or_terminated_archive_is_started(status: R | None) -> None:
    assert should_start(status) is True


def test_durables_own_status_enum_reads_as_ours() -> None:
    from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

    assert {runtime_status(member) for member in OrchestrationRuntimeStatus} == set(R)
    assert runtime_status(None) is None
