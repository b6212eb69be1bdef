"""How a round of an archive ends (pure): Completed, Lost, or Retrying and when to try next.

The rules of "nothing lost, and you know it", in one place:
- every chunk verified: Completed;
- a chunk ACS answers 404/410 for on every attempt across `lost_after_s` (default 30 minutes) is
  Lost, and so is every chunk still unverified at the deadline (default 24 hours after the file
  event, the shortest retention ACS documents); the chunks that were verified stay archived;
- when every chunk left is Lost, the archive is Lost; else it is Retrying, and the next round starts
  after a capped exponential wait, never after the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.archive.model import ArchiveRun, ChunkAttempt, Unverified
from shared.archive.states import ArchiveStatus
from shared.times import as_utc, parse_time

NOT_TRIED = "not tried in this round (the round stopped at an outage)"


@dataclass(frozen=True)
class RoundEnd:
    status: ArchiveStatus
    unverified: tuple[Unverified, ...]
    next_attempt_at: datetime | None = None


def end_of_round(run: ArchiveRun, attempts: list[ChunkAttempt], now: datetime) -> RoundEnd:
    """The archive's status after this round's `attempts`, every answer in the order it came (the
    run's `verified` already holds what they archived)."""
    verified = {chunk.index for chunk in run.verified}
    before = {u.index: u for u in run.unverified}
    answers: dict[int, list[ChunkAttempt]] = {}
    for attempt in attempts:
        answers.setdefault(attempt.index, []).append(attempt)
    lost_after = timedelta(seconds=run.policy.lost_after_s)
    unverified: list[Unverified] = []
    for chunk in run.job.chunks:
        if chunk.index in verified:
            continue
        previous = before.get(chunk.index)
        if previous is not None and previous.lost:
            unverified.append(previous)
            continue
        unverified.append(_after(chunk.index, previous, answers.get(chunk.index, []), now, lost_after))
    deadline = as_utc(parse_time(run.policy.deadline))
    if not unverified:
        return RoundEnd(ArchiveStatus.COMPLETED, ())
    if now >= deadline:
        at_deadline = tuple(
            u if u.lost else replace(u, lost=True, error=f"still unverified at the deadline: {u.error}")
            for u in unverified
        )
        return RoundEnd(ArchiveStatus.LOST, at_deadline)
    if all(u.lost for u in unverified):
        return RoundEnd(ArchiveStatus.LOST, tuple(unverified))
    next_at = min(now + timedelta(seconds=run.policy.wait_s(run.attempt)), deadline)
    return RoundEnd(ArchiveStatus.RETRYING, tuple(unverified), next_at)


def _after(
    index: int, previous: Unverified | None, answers: list[ChunkAttempt], now: datetime, lost_after: timedelta
) -> Unverified:
    """A chunk's standing after this round: its last error, and how long ACS has called it gone
    without a break (any other answer, in any pass, breaks the run of 404s)."""
    if not answers:  # not asked this round: nothing new is known
        return previous or Unverified(index, NOT_TRIED)
    since = previous.gone_since if previous is not None else None
    for answer in answers:
        since = (since or now.isoformat()) if answer.gone else None
    error = answers[-1].error or "not archived"
    if since is None:
        return Unverified(index, error)
    lost = now - as_utc(parse_time(since)) >= lost_after
    return Unverified(index, f"gone at ACS: {error}" if lost else error, since, lost)
