"""The archive's states, and Durable's runtime states as the archive reads them: one owner for both.

An archive status is ours (what the catalog, the manifest and `GET .../archive` report); a runtime
status is Durable's (what its instance is doing). They share words ("Completed", "Failed") but not
meaning, so they are two enums, and no other module compares either with a string literal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ArchiveStatus(StrEnum):
    """Where a recording's archive stands (the catalog's `archive.status`, the manifest's `status`)."""

    COMPLETED = "Completed"  # every chunk archived and verified
    FAILED = "Failed"  # a run ended with chunks missing
    EXPIRED = "Expired"  # retention deleted the blobs: final, nothing revives it


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
