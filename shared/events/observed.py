"""A committed lifecycle event as operators see it: its lifecycle record, and the archive metrics it
settles (an archive round's outcome; a completed archive's latency). Called by the catalog once the
change is written, whether or not a topic is configured."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from shared import telemetry
from shared.events.catalogue import Announcement, EventType

# The lifecycle events that end an archive round, and the `outcome` each counts as.
ROUND_OUTCOMES: Final = {
    EventType.ARCHIVE_COMPLETED: "Completed",
    EventType.ARCHIVE_RETRYING: "Retrying",
    EventType.ARCHIVE_LOST: "Lost",
}


def observed(recording_id: str, announced: Sequence[Announcement]) -> None:
    for item in announced:
        instance = item.data.get("instanceId")
        raw = item.data.get("latencySeconds")
        latency = float(raw) if isinstance(raw, int | float) else None
        telemetry.lifecycle_record(
            item.type.value, recording_id, str(instance) if instance else None, latency
        )
        outcome = ROUND_OUTCOMES.get(item.type)
        if outcome is not None:
            telemetry.record_archive_round(outcome, latency_s=latency)
