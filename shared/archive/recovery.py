"""Recovery of a missing file event, opt-in (ARCHIVE_RECOVER_MISSING_EVENTS=true): an Overdue
recording's files are asked of ACS's result API (shared.archive.recording_result, a preview API) and
archived exactly as from the event, through the same intake (shared.archive.intake).

Run by the archive watch after it has called recordings out as Overdue. Each run asks about the
oldest RECOVERED_PER_RUN Overdue recordings that became Overdue within RECOVERY_WINDOW (ACS keeps
content 24-48 hours; past that, asking costs a request per run and finds nothing, and such
recordings would otherwise take every run's places from newer ones). A result that is not ready
(SessionStillOngoing, no chunk, unknown to ACS) or a request that fails leaves the recording
Overdue, with a log line saying which; the next run asks again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from azure.core.exceptions import AzureError

from shared.archive.durable import DurableClient
from shared.archive.intake import accept_file_event
from shared.archive.recording_result import NotReady, files_event, read_recording_result
from shared.archive.states import ArchiveStatus
from shared.recording.catalog_table import catalog
from shared.settings import Settings

_LOG = logging.getLogger(__name__)
RECOVERED_PER_RUN: Final = 20  # ACS is asked about at most this many Overdue recordings per run
RECOVERY_WINDOW: Final = timedelta(hours=48)  # ACS's longest documented retention


@dataclass
class RecoveryReport:
    recovered: list[str] = field(default_factory=list)  # archives started (or found running) from the result
    still_missing: list[str] = field(default_factory=list)  # asked, not archivable yet: still Overdue


async def recover_overdue(settings: Settings, client: DurableClient, now: datetime) -> RecoveryReport:
    """Ask ACS for the files of the oldest Overdue recordings and archive those it lists."""
    report = RecoveryReport()
    overdue = await asyncio.to_thread(
        catalog(settings).oldest_in_archive_status,
        ArchiveStatus.OVERDUE.value,
        entered_after=now - RECOVERY_WINDOW,
        limit=RECOVERED_PER_RUN,
    )
    for entry in overdue:
        recording_id = str(entry["recordingId"])
        if await _recover(settings, client, entry, now):
            report.recovered.append(recording_id)
        else:
            report.still_missing.append(recording_id)
    return report


async def _recover(settings: Settings, client: DurableClient, entry: dict[str, Any], now: datetime) -> bool:
    recording_id = str(entry["recordingId"])
    try:
        result = await asyncio.to_thread(read_recording_result, settings.acs, recording_id)
    except AzureError as error:  # the type and status only: an SDK error's text may quote a body
        status = getattr(error, "status_code", None)
        _LOG.warning(
            "Recording %s is still Overdue: asking ACS for its recording result failed (%s%s); "
            "asked again on the next watch run",
            recording_id,
            type(error).__name__,
            f" {status}" if status else "",
        )
        return False
    found = (
        NotReady("ACS does not know the recording (404)")
        if result is None
        else files_event(recording_id, _text(entry.get("serverCallId")), result, read_at=now)
    )
    if isinstance(found, NotReady):
        _LOG.warning(
            "Recording %s is still Overdue: %s; asked again on the next watch run", recording_id, found.reason
        )
        return False
    outcome = await accept_file_event(settings, client, found)
    if outcome is None:
        _LOG.error(
            "Recording %s is still Overdue: ACS's recording result did not pass the event's validation "
            "(see the warning before); asked again on the next watch run",
            recording_id,
        )
        return False
    _LOG.info(
        "Recording %s: its files were recovered from ACS's recording result (preview API) without a "
        "file event; archive %s",
        recording_id,
        outcome,
    )
    return True


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
