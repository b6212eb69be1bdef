"""Starting an archive at most once per recording, whatever Event Grid delivers.

Event Grid delivers at least once, concurrently and out of order. The instance id is derived
from the recording; a delivery for an archive that is pending, running or completed starts
nothing, and a failed or terminated one is started again. Before a run starts, the catalog is
moved to Archiving under the lifecycle's rules (shared.archive.records.claim_archive): a Completed
or Expired archive is never started again by an event, and retention never deletes what a run is
writing. host.json's `overridableExistingInstanceStates: NonRunningStates` asks the host to
refuse a start of a running instance; the Azure Storage backend checks and then writes, so two
starts racing for one id can both run. Nothing depends on the refusal: every activity is
idempotent (a chunk converges on one verified blob, the manifest and the catalog are rewritten
with the same content), so a doubled start costs work, never an archive.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Literal

from shared.archive.durable import DurableClient, current_runtime_status
from shared.archive.model import ArchiveJob, ArchiveRun, RetryPolicy
from shared.archive.orchestration import ORCHESTRATOR
from shared.archive.records import claim_archive
from shared.archive.states import IN_FLIGHT, NOT_RESTARTED_BY_EVENTS, RuntimeStatus
from shared.settings import ArchivePolicy, Settings
from shared.times import as_utc, parse_time

_LOG = logging.getLogger(__name__)

Outcome = Literal["started", "restarted", "alreadyActive", "notAllowed"]


def should_start(existing: RuntimeStatus | None, *, rerun: bool = False) -> bool:
    """A delivered event starts an archive when there is no instance, or it failed or was terminated
    (a redelivery must not disturb one that runs or completed); a re-run, unless one is in flight."""
    return existing not in (IN_FLIGHT if rerun else NOT_RESTARTED_BY_EVENTS)


def retry_policy(policy: ArchivePolicy, job: ArchiveJob) -> RetryPolicy:
    """The run's retry policy from the settings; the deadline counts from the file event."""
    deadline = as_utc(parse_time(job.event_time)) + timedelta(minutes=policy.deadline_minutes)
    return RetryPolicy(
        deadline=deadline.isoformat(),
        first_wait_s=policy.retry_first_seconds,
        max_wait_s=policy.retry_max_seconds,
        lost_after_s=policy.lost_after_seconds,
    )


async def start_archive(
    settings: Settings, client: DurableClient, job: ArchiveJob, *, at: datetime, rerun: bool = False
) -> Outcome:
    """Start the archive orchestration for `job` unless one is active (or done, for an event), or
    the lifecycle forbids it (Completed, Expired)."""
    instance_id = job.instance_id
    before = await current_runtime_status(client, instance_id)
    if not should_start(before, rerun=rerun):
        _LOG.info("Archive %s is already %s; nothing started", instance_id, before)
        return "alreadyActive"
    if not await asyncio.to_thread(claim_archive, settings, job, at):
        _LOG.info("Archive %s is not started again: it is completed or expired", instance_id)
        return "notAllowed"
    run = ArchiveRun(
        job=job, delete_source=settings.archive_delete_source, policy=retry_policy(settings.archive, job)
    )
    try:
        await client.start_new(ORCHESTRATOR, instance_id, run.to_json())
    except Exception:
        if await current_runtime_status(client, instance_id) in IN_FLIGHT | {RuntimeStatus.COMPLETED}:
            # a concurrent delivery won the race; the host refused ours
            _LOG.info("Archive %s was started by a concurrent delivery", instance_id)
            return "alreadyActive"
        raise
    _LOG.info(
        "Archive %s %s for %d chunks", instance_id, "restarted" if before else "started", len(job.chunks)
    )
    return "restarted" if before else "started"
