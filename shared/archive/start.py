"""Starting an archive exactly once per recording, whatever Event Grid delivers.

Event Grid delivers at least once, concurrently and out of order. The instance id is derived
from the recording, a delivery for an archive that is pending, running or completed starts
nothing, and a failed or terminated one is started again. host.json's
`overridableExistingInstanceStates: NonRunningStates` asks the host to refuse a start of a running
instance, and a refused start is re-checked and reported as already running; but the Azure Storage
backend checks and then writes, so two starts racing for one id can both run. Nothing depends on
the refusal: every activity is idempotent (a chunk converges on one verified blob, the manifest and
the catalog are rewritten with the same content), so a doubled start costs work, never an archive.
"""

from __future__ import annotations

import logging
from typing import Literal

from shared.archive.durable import DurableClient, current_runtime_status
from shared.archive.model import ArchiveJob, ArchiveRun
from shared.archive.orchestration import ORCHESTRATOR
from shared.archive.states import NOT_RESTARTED_BY_EVENTS, RuntimeStatus

_LOG = logging.getLogger(__name__)

Outcome = Literal["started", "restarted", "alreadyActive"]


def should_start(existing: RuntimeStatus | None) -> bool:
    """Start when there is no instance, or it failed or was terminated: a redelivered event must not
    disturb an archive that runs or completed (a re-run is `POST .../archive`)."""
    return existing not in NOT_RESTARTED_BY_EVENTS


async def start_archive(client: DurableClient, job: ArchiveJob, *, delete_source: bool) -> Outcome:
    """Start the archive orchestration for `job` unless one is active or done."""
    instance_id = job.instance_id
    before = await current_runtime_status(client, instance_id)
    if not should_start(before):
        _LOG.info("Archive %s is already %s; nothing started", instance_id, before)
        return "alreadyActive"
    try:
        await client.start_new(
            ORCHESTRATOR, instance_id, ArchiveRun(job=job, delete_source=delete_source).to_json()
        )
    except Exception:
        if await current_runtime_status(client, instance_id) in NOT_RESTARTED_BY_EVENTS:
            # a concurrent delivery won the race; the host refused ours
            _LOG.info("Archive %s was started by a concurrent delivery", instance_id)
            return "alreadyActive"
        raise
    _LOG.info(
        "Archive %s %s for %d chunks", instance_id, "restarted" if before else "started", len(job.chunks)
    )
    return "restarted" if before else "started"
