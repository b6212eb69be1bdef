"""The archive's states, and Durable's runtime states as the archive reads them: one owner for both.

An archive status is ours (what the catalog, the manifest and `GET .../archive` report); a runtime
status is Durable's (what its instance is doing). They share words ("Completed", "Failed") but not
meaning, so they are two enums, and no other module compares either with a string literal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ArchiveStatus(StrEnum):
    """Where a recording's archive stands (the catalog's `archive.status`, the manifest's `status`).

    A recording without a verified archive is always in one of AwaitingFiles, Overdue, Archiving,
    Retrying or Lost: never silently nowhere."""

    AWAITING_FILES = "AwaitingFiles"  # known to have stopped; its file event has not come yet
    OVERDUE = "Overdue"  # still no file event after ARCHIVE_OVERDUE_AFTER_MINUTES
    ARCHIVING = "Archiving"  # a run is archiving its chunks
    RETRYING = "Retrying"  # chunks failed; waiting on a Durable timer for the next attempt
    COMPLETED = "Completed"  # every chunk archived and verified
    LOST = "Lost"  # a chunk is gone at ACS, or still unverified at the deadline; the rest is kept
    EXPIRING = "Expiring"  # retention claimed it and is deleting its blobs: nothing else touches it
    EXPIRED = "Expired"  # retention deleted the blobs: final, nothing revives it


# The lifecycle, one place: which status may follow which (a write that is not allowed is a no-op,
# so late, duplicate and out-of-order writers cannot move a recording backwards). `None` is a
# recording with no archive status yet. README's state diagram is drawn from this table.
TRANSITIONS: Final[dict[ArchiveStatus | None, frozenset[ArchiveStatus]]] = {
    None: frozenset({ArchiveStatus.AWAITING_FILES, ArchiveStatus.ARCHIVING}),
    ArchiveStatus.AWAITING_FILES: frozenset({ArchiveStatus.OVERDUE, ArchiveStatus.ARCHIVING}),
    ArchiveStatus.OVERDUE: frozenset({ArchiveStatus.ARCHIVING}),
    ArchiveStatus.ARCHIVING: frozenset(
        {ArchiveStatus.ARCHIVING, ArchiveStatus.RETRYING, ArchiveStatus.COMPLETED, ArchiveStatus.LOST}
    ),
    ArchiveStatus.RETRYING: frozenset(
        {ArchiveStatus.ARCHIVING, ArchiveStatus.RETRYING, ArchiveStatus.COMPLETED, ArchiveStatus.LOST}
    ),
    ArchiveStatus.COMPLETED: frozenset({ArchiveStatus.COMPLETED, ArchiveStatus.EXPIRING}),
    ArchiveStatus.LOST: frozenset({ArchiveStatus.ARCHIVING, ArchiveStatus.EXPIRING}),
    ArchiveStatus.EXPIRING: frozenset({ArchiveStatus.EXPIRED}),
    ArchiveStatus.EXPIRED: frozenset(),
}
# Watched: each is listed by `GET /api/archive-health`, oldest first, and needs someone's attention
# if it lasts (an alert, a re-run, a look at ACS).
NEEDS_ATTENTION: Final = (ArchiveStatus.OVERDUE, ArchiveStatus.RETRYING, ArchiveStatus.LOST)
# Swept by retention once old enough: an archive that ended, verified or not (and one whose blobs
# a retention run that broke off was deleting).
ENDED: Final = (ArchiveStatus.COMPLETED, ArchiveStatus.LOST)
RETIRED: Final = frozenset({ArchiveStatus.EXPIRING, ArchiveStatus.EXPIRED})  # its blobs are going or gone
# A run owns the archive: nothing else starts one, and retention keeps away.
IN_FLIGHT_STATUSES: Final = frozenset({ArchiveStatus.ARCHIVING, ArchiveStatus.RETRYING})


def may_become(current: ArchiveStatus | None, new: ArchiveStatus) -> bool:
    """Whether a recording in `current` may move to `new`."""
    return new in TRANSITIONS[current]


def state_diagram() -> str:
    """The lifecycle as a mermaid state diagram (README shows exactly this)."""
    lines = ["stateDiagram-v2"]
    for current, following in TRANSITIONS.items():
        source = "[*]" if current is None else current.value
        lines += [f"    {source} --> {new.value}" for new in sorted(following) if new != current]
    lines += [f"    {status.value} --> [*]" for status in (ArchiveStatus.EXPIRED,)]
    return "\n".join(lines)


class RuntimeStatus(StrEnum):
    """Durable's `runtimeStatus` of an orchestration instance, in the extension's own words."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    FAILED = "Failed"
    CANCELED = "Canceled"
    TERMINATED = "Terminated"
    SUSPENDED = "Suspended"


# An instance in one of these is still going to act: nothing may start another run beside it, and
# retention must not delete what it is writing.
IN_FLIGHT: Final = frozenset(
    {RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.CONTINUED_AS_NEW, RuntimeStatus.SUSPENDED}
)
# A redelivered event starts nothing for these: the archive runs, or it finished.
NOT_RESTARTED_BY_EVENTS: Final = IN_FLIGHT | {RuntimeStatus.COMPLETED}


def runtime_status(value: object) -> RuntimeStatus | None:
    """Durable's status value (the SDK's enum, its `.value` string, or None) as a RuntimeStatus."""
    raw = getattr(value, "value", value)
    try:
        return RuntimeStatus(str(raw)) if raw is not None else None
    except ValueError:
        return None
