"""The archive's lifecycle: which status may follow which, written once (shared.archive.states)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.archive.model import ArchiveSummary
from shared.archive.records import moved
from shared.archive.states import TRANSITIONS, ArchiveStatus, may_become, state_diagram

S = ArchiveStatus
README = Path(__file__).resolve().parents[3] / "README.md"


def summary(status: ArchiveStatus, since: str = "2026-12-06T12:00:00+00:00") -> ArchiveSummary:
    return ArchiveSummary(status, since=since)


@pytest.mark.parametrize("new", list(S))
def test_expired_is_final(new: ArchiveStatus) -> None:
    assert not may_become(S.EXPIRED, new)


@pytest.mark.parametrize("late", [S.RETRYING, S.LOST, S.ARCHIVING, S.AWAITING_FILES, S.OVERDUE])
def test_a_late_writer_cannot_undo_a_completed_archive(late: ArchiveStatus) -> None:
    assert moved(summary(S.COMPLETED), summary(late)) is None


def test_a_stop_noticed_after_the_file_event_does_not_move_the_archive_back() -> None:
    assert moved(summary(S.ARCHIVING), summary(S.AWAITING_FILES)) is None


def test_a_late_file_event_moves_an_overdue_recording_on() -> None:
    assert may_become(S.OVERDUE, S.ARCHIVING)


def test_staying_in_a_status_keeps_the_time_it_was_entered() -> None:
    again = moved(
        summary(S.RETRYING, "2026-12-06T12:00:00+00:00"), summary(S.RETRYING, "2026-12-06T13:00:00+00:00")
    )
    assert again is not None
    assert again.since == "2026-12-06T12:00:00+00:00"


def test_every_status_is_reachable_from_nothing() -> None:
    reached, frontier = set(), [None]
    while frontier:
        current = frontier.pop()
        for new in TRANSITIONS[current]:
            if new not in reached:
                reached.add(new)
                frontier.append(new)
    assert reached == set(S)


def test_the_readme_draws_exactly_this_lifecycle() -> None:
    assert f"```mermaid\n{state_diagram()}\n```" in README.read_text()
