"""Index rows that let the catalog answer its queries with partition range reads, never a table scan (pure).

Every recording entity (`rec-<hash>` / `recording`) has index rows in the same table, one per question:

- `t-<yyyymm>`            by time: one partition per month of `createdAt` (UTC);
- `s-<state>`             by recording state (`active`, `inactive`, ...);
- `a-<archive status>`    by archive status (shared/archive/states.py: `AwaitingFiles` ... `Expired`);
- `c-<hash(serverCallId)>` by call;
- `u-inactive`            inactive and no archive status yet: paused, or stopped unseen (the watch's);
- `w-<archive status>`    by archive status, oldest first: its row key counts up from when the
                          recording entered that status (`archiveStatusSince`), so "the oldest
                          Overdue" and "AwaitingFiles for more than 30 minutes" are one range read.

The row key is always `<inverted createdAt in ms, 13 digits>-<hash(recordingId)>`: Table storage returns
a partition in row-key order, so ascending keys are newest first, a time range is one row-key range, and
the hash keeps two recordings of the same millisecond apart. Month partitions keep a time query to at most
13 partition reads (a range is limited to 366 days) while spreading writes over time; a day would make a
year's query 366 reads, one partition for all would be a single hot partition.

Index rows are hints: they are written after the entity and the entity is the truth. A reader checks each
row against its entity and skips one that no longer matches (a state that moved on while a writer was
between its two writes), so a query never returns a wrong answer, at worst a short page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from azure.communication.callautomation import RecordingState

from shared.errors import QueryError
from shared.recording.callback_events import START_FAILED_STATE
from shared.times import as_utc, parse_time

Kind = Literal["time", "state", "archiveStatus", "serverCallId"]
MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 50
MAX_TIME_SPAN: Final = timedelta(days=366)
DEFAULT_TIME_SPAN: Final = timedelta(days=30)
_INVERT_FROM: Final = 10**13 - 1
_ROW: Final = re.compile(r"^\d{13}-[0-9a-f]{40}$")
_PREFIX: Final = {"time": "t-", "state": "s-", "archiveStatus": "a-", "serverCallId": "c-"}
_VALUE: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What the filters can match: the states ACS reports (and ours for a start that failed), and the archive
# statuses the catalog records. Any other value is a 400 listing these, never an empty 200.
STATES: Final = (*(state.value for state in RecordingState), START_FAILED_STATE)
# The instants a row key can hold: 13 digits of milliseconds counted down from 10^13 - 1 (1970-01-01 to
# 2286-11-20). A bound outside would make a 14-digit or negative key, which compares wrongly as text.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = EARLIEST + timedelta(milliseconds=_INVERT_FROM)
MAX_SERVER_CALL_ID: Final = 2048


def key_hash(value: str) -> str:
    """A short, key-safe hash of an id."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def inverted_ms(moment: datetime) -> int:
    """Milliseconds counted down from a far date, so newer rows sort first."""
    return _INVERT_FROM - int(moment.timestamp() * 1000)


def row_key(created_at: datetime, recording_id: str) -> str:
    """Newest first within a partition, unique per recording."""
    return f"{inverted_ms(created_at):013d}-{key_hash(recording_id)}"


def since_row_key(since: datetime, recording_id: str) -> str:
    """Oldest first: milliseconds since the epoch (13 digits until the year 2286), then the id's hash."""
    return f"{int(since.timestamp() * 1000):013d}-{key_hash(recording_id)}"


# Recordings whose last state was `inactive` and that have no archive status: paused ones, and stops
# nobody told the catalog of (the call ended, another client stopped them). Small by nature, so the
# archive watch reads it whole instead of every inactive recording (shared.archive.watch).
UNSETTLED_INACTIVE: Final = "u-inactive"


def since_partition(archive_status: str) -> str:
    return f"w-{archive_status}"


def month_partition(moment: datetime) -> str:
    """Time-ordered index rows are partitioned by month, so a time range reads few partitions."""
    return f"t-{moment.astimezone(UTC):%Y%m}"


def _utc(value: str) -> datetime:
    return as_utc(parse_time(value))


def archive_status_of(entity: dict[str, Any]) -> str | None:
    """The word the entity is filed under for the `archiveStatus` filter (the archive wing writes it;
    this module does not know its values), or None when nothing was archived."""
    status = entity.get("archiveStatus")
    return str(status) if status else None


def index_keys(entity: dict[str, Any]) -> set[tuple[str, str]]:
    """(PartitionKey, RowKey) of every index row `entity` should have."""
    created = entity.get("createdAt")
    recording_id = entity.get("recordingId")
    if not created or not recording_id:
        return set()
    moment = _utc(str(created))
    row = row_key(moment, str(recording_id))
    keys = {(month_partition(moment), row)}
    state = entity.get("state")
    if state and _VALUE.fullmatch(str(state)):
        keys.add((f"s-{state}", row))
    status = archive_status_of(entity)
    if status and _VALUE.fullmatch(status):
        keys.add((f"a-{status}", row))
    if entity.get("serverCallId"):
        keys.add((f"c-{key_hash(str(entity['serverCallId']))}", row))
    since = entity.get("archiveStatusSince")
    if status and _VALUE.fullmatch(status) and since:
        keys.add((since_partition(status), since_row_key(_utc(str(since)), str(recording_id))))
    if state == "inactive" and not status:
        keys.add((UNSETTLED_INACTIVE, row))
    return keys


def matches(kind: Kind, value: str, entity: dict[str, Any]) -> bool:
    """Whether the entity still answers the query its index row was found by."""
    if kind == "state":
        return entity.get("state") == value
    if kind == "archiveStatus":
        return archive_status_of(entity) == value
    if kind == "serverCallId":
        return entity.get("serverCallId") == value
    return True


@dataclass(frozen=True)
class CatalogQuery:
    """A validated listing query: which index, which value, which time range, what page size."""

    kind: Kind
    value: str
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive
    page_size: int

    def partitions(self) -> list[str]:
        """The partitions to read, newest first."""
        if self.kind != "time":
            suffix = key_hash(self.value) if self.kind == "serverCallId" else self.value
            return [f"{_PREFIX[self.kind]}{suffix}"]
        assert self.start is not None
        assert self.end is not None
        months: list[str] = []
        cursor = (
            (self.end - timedelta(milliseconds=1))
            .astimezone(UTC)
            .replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        while cursor >= self.start.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0):
            months.append(month_partition(cursor))
            cursor = (cursor - timedelta(days=1)).replace(day=1)
        return months

    def row_range(self) -> tuple[str | None, str | None]:
        """(lowest row key, highest row key exclusive) for `start <= createdAt < end` (both bounds lie in
        EARLIEST..LATEST: parse_query)."""
        low = _key_bound(inverted_ms(self.end) + 1) if self.end else None
        high = _key_bound(inverted_ms(self.start) + 1) if self.start else None
        return low, high

    def fingerprint(self) -> str:
        text = json.dumps([self.kind, self.value, _iso(self.start), _iso(self.end), self.page_size])
        return key_hash(text)[:16]

    def token(self, partition: str, after_row: str) -> str:
        """The next page's token. A time query's carries its window, so a bound the first page defaulted
        (`to`: now) stays the same on every page: rows created while paging neither shift nor repeat."""
        data: dict[str, Any] = {"q": self.fingerprint(), "p": partition, "r": after_row}
        if self.kind == "time":
            data["w"] = [_iso(self.start), _iso(self.end)]
        raw = json.dumps(data, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def resume(self, token: str | None) -> tuple[str, str | None] | None:
        """(partition, row key to continue after) from a token of this same query; None: from the top."""
        if not token:
            return None
        data = _token_data(token)
        if (
            data.get("q") != self.fingerprint()
            or data.get("p") not in self.partitions()
            or not isinstance(data.get("r"), str)
            or not _ROW.fullmatch(data["r"])
        ):
            raise QueryError(
                "continuationToken", "The continuation token does not belong to this query; repeat the query."
            )
        return str(data["p"]), str(data["r"])


def _key_bound(inverted: int) -> str:
    """A row-key bound for an inverted time. One past the oldest instant would have 14 digits and compare as
    text below every key, so it becomes the string just above every key (`-` < `.`)."""
    return f"{inverted:013d}" if inverted <= _INVERT_FROM else f"{_INVERT_FROM:013d}."


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _token_data(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise QueryError("continuationToken", "The continuation token is malformed.")
    return data


def _token_window(token: str | None) -> tuple[datetime, datetime] | None:
    """The time window a time query's token was issued for (its first page's), or None."""
    window = _token_data(token).get("w") if token else None
    if window is None:
        return None
    if not isinstance(window, list) or len(window) != 2 or not all(isinstance(v, str) for v in window):
        raise QueryError("continuationToken", "The continuation token is malformed.")
    start, end = (_moment(value, "continuationToken") for value in window)
    return start, end


def parse_query(
    params: dict[str, str], *, now: datetime, archive_statuses: Sequence[str] = ()
) -> CatalogQuery:
    """The query of `GET /api/recordings?...` (one of serverCallId, state, archiveStatus, or a time range).
    `archive_statuses`: the values an `archiveStatus` filter may take; the archive wing owns them
    (shared.archive.states), and the recording wing may not import it, so the caller passes them."""
    for name in ("serverCallId", "state", "archiveStatus", "from", "to", "pageSize", "continuationToken"):
        if name in params and not params[name].strip():  # `?to=` is a mistake, not "no bound"
            raise QueryError(name, f"{name} must not be empty; leave it out instead.")
    given = [name for name in ("serverCallId", "state", "archiveStatus") if params.get(name, "").strip()]
    if len(given) > 1:
        raise QueryError(given[1], "Give at most one of serverCallId, state and archiveStatus.")
    kind: Kind = given[0] if given else "time"  # type: ignore[assignment]
    raw = params.get(given[0], "") if given else ""
    value = raw.strip()
    if kind == "serverCallId":
        _check_server_call_id(raw)  # before stripping: `id+` unencoded arrives as "id "
    if kind == "state":
        _check_one_of(kind, value, STATES)
    if kind == "archiveStatus":
        _check_one_of(kind, value, tuple(archive_statuses))
    start, end = _time(params, "from"), _time(params, "to")
    if kind == "time":
        window = _token_window(params.get("continuationToken"))  # the first page's, when paging
        end = end or (window[1] if window else now)
        start = start or (window[0] if window else max(end - DEFAULT_TIME_SPAN, EARLIEST))
        if end - start > MAX_TIME_SPAN:
            raise QueryError("from", "A time range may span at most 366 days.")
    if start and end and start >= end:
        raise QueryError("from", "from must be before to.")
    return CatalogQuery(kind, value, start, end, _page_size(params.get("pageSize")))


def _check_one_of(name: str, value: str, accepted: tuple[str, ...]) -> None:
    if value in accepted:
        return
    hint = next(
        (f" (values are case-sensitive: {known}?)" for known in accepted if known.lower() == value.lower()),
        "",
    )
    raise QueryError(name, f"{name} must be one of {', '.join(accepted)}{hint}.")


def _check_server_call_id(value: str) -> None:
    """No call id has a space: real ones are base64, and a `+` sent unencoded arrives as a space."""
    if len(value) > MAX_SERVER_CALL_ID:
        raise QueryError(
            "serverCallId", f"serverCallId is too long (at most {MAX_SERVER_CALL_ID} characters)."
        )
    if " " in value:
        raise QueryError(
            "serverCallId",
            "serverCallId contains a space, which no call id has: URL-encode the id "
            "(an unencoded `+` arrives as a space; send it as %2B, `/` as %2F, `=` as %3D).",
        )
    if any(ch.isspace() or ord(ch) < 0x20 for ch in value):
        raise QueryError("serverCallId", "serverCallId must have no whitespace or control characters.")


def _time(params: dict[str, str], name: str) -> datetime | None:
    raw = params.get(name, "").strip()
    return _moment(raw, name) if raw else None


def _moment(raw: str, name: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC, within the instants a row key can hold; else 400 `name`."""
    try:
        moment = parse_time(raw)
    except ValueError:
        raise QueryError(name, f"{name} must be an ISO 8601 time such as 2026-11-24T10:00:00Z.") from None
    if moment.tzinfo is None:
        raise QueryError(name, f"{name} must carry a time zone (Z or +hh:mm).")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:30:00+01:00 is in year 0 in UTC
        raise _out_of_range(name) from None
    if not EARLIEST <= moment <= LATEST:
        raise _out_of_range(name)
    return moment


def _out_of_range(name: str) -> QueryError:
    earliest, latest = EARLIEST.isoformat()[:19], LATEST.isoformat()[:23]
    return QueryError(
        name, f"{name} must be between {earliest}Z and {latest}Z: a catalog entry's time lies in that range."
    )


def _page_size(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return DEFAULT_PAGE_SIZE
    digits = raw.strip()
    # ASCII digits only: str.isdigit() takes `²` and `①`, which int() refuses, and int() takes `٣`
    if not re.fullmatch(r"[0-9]{1,3}", digits) or not 1 <= int(digits) <= MAX_PAGE_SIZE:
        raise QueryError("pageSize", f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}.")
    return int(digits)
