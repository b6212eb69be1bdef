"""`GET /api/archive-health`: one answer for operators, read from the catalog's index rows.

- `counts`: the recordings created in the window (`hours`, default 24, 1 to 168), by archive
  status, and `recordings`, all created in it (the difference: not stopped yet, or no status yet);
- `attention`: for each status that needs someone (shared.archive.states.NEEDS_ATTENTION:
  Overdue, Retrying, Lost), how many are in it now, whenever they were created, and the oldest
  ones, longest there first, with what the catalog's summary says of them.

Every read is a count of one index partition (`a-<status>`, `t-<month>`) over a row-key range, or
a range read of the oldest-first `w-<status>` index and a point read per listed entry; never a
table scan. A count is of index rows: one whose entity moved on a moment ago may be counted until
its writer deletes it, but a listed entry is checked against its entity (shared.recording.catalog).
The recording wing does not know the archive statuses: this module passes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from shared.archive.model import ArchiveSummary
from shared.archive.states import NEEDS_ATTENTION, ArchiveStatus
from shared.errors import STORAGE, QueryError, upstream
from shared.recording.catalog import Catalog
from shared.recording.catalog_index import MAX_PAGE_SIZE, CatalogQuery
from shared.recording.catalog_table import catalog
from shared.settings import Settings

WINDOW: Final = "hours"  # the query parameter
DEFAULT_WINDOW_HOURS: Final = 24
# A week: ACS keeps content 24-48 hours, so every recording that can still be archived is in it,
# and the counts stay a handful of index reads.
MAX_WINDOW_HOURS: Final = 168
OLDEST_LISTED: Final = 10  # per watched status


@dataclass(frozen=True)
class HealthWindow:
    """The recordings created from `start` (inclusive) to `end` (exclusive)."""

    hours: int
    end: datetime

    @property
    def start(self) -> datetime:
        return self.end - timedelta(hours=self.hours)


def parse_window(params: dict[str, str], now: datetime) -> HealthWindow:
    """The window the query asks for; a QueryError (400 naming `hours`) for anything but 1 to 168 in
    ASCII digits (`str.isdigit()` takes `²`, `int()` takes `٣` and would parse thousands of digits)."""
    raw = params.get(WINDOW)
    if raw is None:
        return HealthWindow(DEFAULT_WINDOW_HOURS, now)
    hours = raw.strip()
    if not hours:  # `?hours=` is a mistake, not "the default"
        raise QueryError(WINDOW, f"{WINDOW} must not be empty; leave it out instead.")
    if not re.fullmatch(r"[0-9]{1,3}", hours) or not 1 <= int(hours) <= MAX_WINDOW_HOURS:
        raise QueryError(
            WINDOW,
            f"{WINDOW} must be a whole number from 1 to {MAX_WINDOW_HOURS} (the default is "
            f"{DEFAULT_WINDOW_HOURS}).",
        )
    return HealthWindow(int(hours), now)


def attention_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A listed recording: its ids and times, and what its archive summary says (pure)."""
    summary = ArchiveSummary.from_json(entry["archive"])
    return {
        "recordingId": entry["recordingId"],
        "serverCallId": entry.get("serverCallId"),
        "createdAt": entry.get("createdAt"),
        "since": summary.since,
        "attempt": summary.attempt,
        "nextAttemptAt": summary.next_attempt_at,
        "lastError": summary.last_error,
        "lostChunks": summary.lost_chunks,
    }


def _by_status(status: ArchiveStatus, window: HealthWindow | None) -> CatalogQuery:
    start, end = (window.start, window.end) if window else (None, None)
    return CatalogQuery("archiveStatus", status.value, start, end, MAX_PAGE_SIZE)


def attention_totals(entries: Catalog) -> dict[str, int]:
    """How many recordings are in each status that needs attention now, whenever they were created
    (the archive-status index rows, counted without reading an entity; the watch reports them as metrics)."""
    return {status.value: entries.count(_by_status(status, None)) for status in NEEDS_ATTENTION}


def health(entries: Catalog, window: HealthWindow) -> dict[str, Any]:
    """The answer, from the index rows of `entries`."""
    created = CatalogQuery("time", "", window.start, window.end, MAX_PAGE_SIZE)
    totals = attention_totals(entries)
    return {
        "asOf": window.end.isoformat(),
        "window": {"hours": window.hours, "from": window.start.isoformat(), "to": window.end.isoformat()},
        "recordings": entries.count(created),
        "counts": {status.value: entries.count(_by_status(status, window)) for status in ArchiveStatus},
        "attention": {
            status.value: {
                "total": totals[status.value],
                "oldest": [
                    attention_entry(entry)
                    for entry in entries.oldest_in_archive_status(status.value, limit=OLDEST_LISTED)
                ],
            }
            for status in NEEDS_ATTENTION
        },
    }


def archive_health(settings: Settings, params: dict[str, str], now: datetime) -> dict[str, Any]:
    """`GET /api/archive-health`: a bad `hours` is a 400 naming it; a storage failure names Azure Storage."""
    window = parse_window(params, now)
    with upstream(STORAGE):
        return health(catalog(settings), window)
