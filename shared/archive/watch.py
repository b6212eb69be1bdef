"""The archive watch, a timer: a recording that stopped but whose files never came is called out.

ACS publishes RecordingFileStatusUpdated once the files are ready, usually within minutes of the
stop. An event that never comes (a subscription deleted or misconfigured, an endpoint failing past
Event Grid's 24-hour retry window, a dead-lettered delivery) would leave no trace; ACS deletes the
content 24-48 hours later. So every run:

1. AwaitingFiles for longer than ARCHIVE_OVERDUE_AFTER_MINUTES -> Overdue, logged once as an error
   (the move happens once: the log line with it);
2. a recording whose last state callback said `inactive` (paused, or stopped: ACS does not say
   which) and that ACS no longer knows (404: stopped recordings are forgotten) -> AwaitingFiles,
   for stops that did not go through our API (the call ended, another client stopped it);
3. with ARCHIVE_RECOVER_MISSING_EVENTS=true, the oldest Overdue recordings' files are asked of ACS's
   (preview) result API and archived as from their event (shared.archive.recovery).

Every read is a range read of the catalog's index: the cost grows with the candidates, never with
the size of the catalog (benchmarks/README.md, archive watch).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from azure.core.exceptions import AzureError, ResourceNotFoundError

from shared import telemetry
from shared.archive.durable import DurableClient
from shared.archive.health import attention_totals
from shared.archive.records import expect_files, mark_overdue
from shared.archive.recovery import RecoveryReport, recover_overdue
from shared.archive.states import ArchiveStatus
from shared.clients import call_automation_client
from shared.errors import short_error
from shared.recording.catalog_table import catalog
from shared.settings import Settings
from shared.times import as_utc, parse_time

_LOG = logging.getLogger(__name__)
PER_RUN: Final = 100  # candidates handled per run; more wait for the next one
STOPS_CHECKED_PER_RUN: Final = 20  # ACS is asked about at most this many inactive recordings per run
INACTIVE_FOR: Final = timedelta(minutes=2)  # a pause this fresh is not asked about yet
_CHECKED: Final = "stopCheckedAt"  # when the watch last asked ACS about it and did not learn it stopped


@dataclass
class WatchReport:
    overdue: list[str] = field(default_factory=list)
    stops_noticed: list[str] = field(default_factory=list)
    recovery: RecoveryReport | None = None  # None: recovery is off, ACS was not asked


def watch_archives(settings: Settings, now: datetime) -> WatchReport:
    """Steps 1 and 2 above (catalog and ACS reads only: no archive is started); then, with telemetry
    on, how many recordings need attention now (one range read of each status's index partition)."""
    report = WatchReport()
    _call_out_overdue(settings, now, report)
    _notice_unseen_stops(settings, now, report)
    if telemetry.enabled():
        telemetry.record_attention(attention_counts(settings))
    return report


def attention_counts(settings: Settings) -> dict[str, int]:
    """How many recordings are Overdue, Retrying and Lost now (the health route's totals)."""
    return attention_totals(catalog(settings))


async def watch_and_recover(settings: Settings, client: DurableClient, now: datetime) -> WatchReport:
    """One run of the watch timer: steps 1 and 2, then recovery (step 3) if it is switched on."""
    report = await asyncio.to_thread(watch_archives, settings, now)
    if settings.archive.recover_missing_events:
        report.recovery = await recover_overdue(settings, client, now)
    return report


def _call_out_overdue(settings: Settings, now: datetime, report: WatchReport) -> None:
    threshold = now - timedelta(minutes=settings.archive.overdue_after_minutes)
    awaiting = catalog(settings).oldest_in_archive_status(
        ArchiveStatus.AWAITING_FILES.value,
        entered_before=threshold + timedelta(milliseconds=1),
        limit=PER_RUN,
    )
    for entry in awaiting:
        recording_id, since = str(entry["recordingId"]), str(entry["archive"]["since"])
        if mark_overdue(settings, recording_id, since, now):
            report.overdue.append(recording_id)
            _LOG.error(
                "Recording %s is Overdue: it stopped at %s and no RecordingFileStatusUpdated event has come "
                "in %d minutes; ACS deletes its content 24-48 hours after the stop",
                recording_id,
                since,
                settings.archive.overdue_after_minutes,
            )


def _notice_unseen_stops(settings: Settings, now: datetime, report: WatchReport) -> None:
    """Stops made without our stop route: of the recordings last `inactive` with no archive status yet
    (paused ones, and these; the catalog keeps them in a partition of their own), the ones inactive
    for a while, oldest first, up to STOPS_CHECKED_PER_RUN asked of ACS. However old: a stop older
    than ACS's retention (the watch did not run for days) still becomes AwaitingFiles, then Overdue,
    so it is seen rather than skipped. One that ACS will not describe is logged and put back in line
    (asked again after the never-asked ones), never allowed to end the run."""
    entries = catalog(settings)
    candidates = sorted(
        (
            e
            for e in entries.inactive_without_archive_status()
            if _inactive_since(e, now) <= now - INACTIVE_FOR
        ),
        # never asked first, then the longest ago: a crowd of paused recordings cannot starve a stop
        key=lambda e: (str(e.get(_CHECKED) or ""), _inactive_since(e, now)),
    )[:STOPS_CHECKED_PER_RUN]
    client = call_automation_client(settings.acs)
    for entry in candidates:
        recording_id = str(entry["recordingId"])
        try:
            with telemetry.span(f"{telemetry.ACS_CALL}.get_recording_properties", recording_id=recording_id):
                client.get_recording_properties(recording_id)
        except ResourceNotFoundError:
            if expect_files(settings, recording_id, _inactive_since(entry, now)):
                report.stops_noticed.append(recording_id)
                _LOG.info(
                    "Recording %s stopped without our stop route; its files are now awaited", recording_id
                )
            continue
        except AzureError as error:
            _LOG.warning(
                "Recording %s: ACS could not say whether it stopped (%s); asked again on a later run",
                recording_id,
                short_error(f"{type(error).__name__}: {error}"),
            )
        entries.update(recording_id, lambda _: {_CHECKED: now.isoformat()}, create=False)  # back in line


def _inactive_since(entry: dict[str, Any], now: datetime) -> datetime:
    return as_utc(parse_time(str(entry.get("updatedAt") or now.isoformat())))
