"""The catalog at scale (issue 22): the archive watch and the health route against up to 100,000
recordings in Azurite, in storage requests and seconds.

    python -m benchmarks.catalog_scale           # quick: 0, 2,000 and 20,000 recordings (~3 minutes)
    python -m benchmarks.catalog_scale --full    # 0, 1,000, 10,000 and 100,000 (~25 minutes, most of it
                                                 # seeding: Azurite's entity writes cost more the more
                                                 # entities the table holds, see benchmarks/README.md)

Prints tables and writes results/catalog_scale.json (full) or results/catalog_scale.quick.json.

**The catalog.** Synthetic recordings written straight into Azurite through azure-data-tables: each
entity as the catalog's own code makes it (two state callbacks through `apply_event`, an archive
summary through `summary_fields`), and the index rows `index_keys()` says it needs (`index_rows`),
batched as table transactions of up to 100 rows per partition. An entity is alone in its partition
(`rec-<hash>`), so entities are single writes, several in flight. The *background* is the bulk: N
recordings archived long ago (created 8 to 365 days back, `inactive`, `Completed`), outside every
window the watch and the health route read, so N is the only thing that changes along that axis.

**The candidates** (K of each kind, all created in the last day, written fresh before each run and
deleted after it):

- due: AwaitingFiles for an hour (over ARCHIVE_OVERDUE_AFTER_MINUTES): the watch moves it to Overdue
  (at most 100 a run);
- unseen: `inactive` with no archive status, the newest of all: the watch asks ACS (the emulator
  answers 404) and marks it AwaitingFiles (at most 20 a run);
- overdue, retrying, lost: in that status for hours: the health route's attention lists;
- completed: archived in the last day: counted by the health route.

**Measured**, per run: the health route's service (`archive_health`, before the watch moves anything)
and one `watch_archives` run, each timed in this process and counted in requests from Azurite's own
access log (one line per request it served): `query` (a range read of a partition), `read` (a point
read of one entity), `write` (insert, update, delete, or a transaction). ACS requests (the emulator,
a process of its own as benchmarks/servers.py starts it) are not storage requests: one per unseen
candidate checked. The answers are checked too (counts equal K, the oldest lists full, K moved to
Overdue), so the figures are of a run that did its work. And, at each size, Azurite's own cost of a
request: the median time of a query of an empty partition and of a point read of a background entity.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from benchmarks.machine import describe
from benchmarks.servers import environment, running_emulator, write_json
from shared.archive.model import ArchiveSummary
from shared.archive.records import summary_fields
from shared.archive.states import ArchiveStatus
from shared.recording.callback_events import RecordingCallbackEvent
from shared.recording.catalog import apply_event, index_rows, recording_partition

RESULTS = Path(__file__).resolve().parent / "results"
KINDS = ("due", "unseen", "overdue", "retrying", "lost", "completed")
THREADS = 4  # requests in flight while seeding (Azurite is one Node thread; the client takes the other core)
TRANSACTION_ROWS = 100  # Table storage's limit per transaction
RECORDINGS_PER_CALL = 50  # background recordings share calls, so their `c-` rows batch too
_LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')


@dataclass(frozen=True)
class Plan:
    mode: str
    sizes: tuple[int, ...]  # background recordings, ascending
    per_kind: int  # candidates of each kind along the size axis
    candidate_counts: tuple[int, ...]  # candidates of each kind along the other axis, at the largest size
    repeats: int


QUICK = Plan("quick", (0, 2_000, 20_000), 20, (5, 20, 50), 2)
FULL = Plan("full", (0, 1_000, 10_000, 100_000), 20, (5, 20, 50, 100), 3)


# --- the entities ---------------------------------------------------------------------------------


def _stopped(recording_id: str, created: datetime, call: str) -> dict[str, Any]:
    """A recording that ran for a minute, as two state callbacks leave it in the catalog."""
    entity: dict[str, Any] | None = None
    for state, at in (("active", created), ("inactive", created + timedelta(minutes=1))):
        event = RecordingCallbackEvent(
            event_id=f"{recording_id}-{state}",
            event_type="Microsoft.Communication.RecordingStateChanged",
            time=at,
            recording_id=recording_id,
            server_call_id=call,
            state=state,
            result=None,
        )
        entity = apply_event(entity, event)
    assert entity is not None
    return entity


def _filed(entity: dict[str, Any], summary: ArchiveSummary) -> dict[str, Any]:
    return {**entity, **summary_fields(summary)}


def background(index: int, now: datetime, rng: random.Random) -> dict[str, Any]:
    """A recording archived long ago: created 8 to 365 days back, Completed 15 minutes later."""
    created = now - timedelta(days=8) - timedelta(seconds=rng.uniform(0, 357 * 86400))
    recording_id = f"bench-{index:07d}"
    archived = created + timedelta(minutes=15)
    summary = ArchiveSummary(
        ArchiveStatus.COMPLETED,
        since=archived.isoformat(),
        prefix=f"recordings/{created:%Y/%m/%d}/{recording_partition(recording_id)[4:20]}",
        manifest_blob_name=f"recordings/{created:%Y/%m/%d}/{recording_partition(recording_id)[4:20]}/manifest.json",
        container="recordings",
        chunks=1,
        bytes=28_800_044,
        archived_at=archived.isoformat(),
        attempt=1,
    )
    return _filed(_stopped(recording_id, created, f"call-{index // RECORDINGS_PER_CALL:06d}"), summary)


def candidate(kind: str, index: int, run: str, now: datetime) -> dict[str, Any]:
    """One candidate of `kind` (the module docstring's table), created in the last day."""
    recording_id = f"cand-{run}-{kind}-{index:04d}"
    if kind == "unseen":  # the newest: the watch reads the newest inactive recordings first
        return _stopped(recording_id, now - timedelta(minutes=30, seconds=index), f"call-{recording_id}")
    created = now - timedelta(hours=1, minutes=30) - timedelta(seconds=37 * index)
    entity = _stopped(recording_id, created, f"call-{recording_id}")
    since = created + timedelta(minutes=2)
    summaries = {
        "due": ArchiveSummary(ArchiveStatus.AWAITING_FILES, since=(now - timedelta(hours=1)).isoformat()),
        "overdue": ArchiveSummary(ArchiveStatus.OVERDUE, since=since.isoformat()),
        "retrying": ArchiveSummary(
            ArchiveStatus.RETRYING,
            since=since.isoformat(),
            attempt=3,
            next_attempt_at=(now + timedelta(minutes=4)).isoformat(),
            last_error="DownloadRefusedError: 503 from us-storage.asm.skype.com",
        ),
        "lost": ArchiveSummary(ArchiveStatus.LOST, since=since.isoformat(), attempt=9, lost_chunks=1),
        "completed": ArchiveSummary(ArchiveStatus.COMPLETED, since=since.isoformat(), chunks=1, bytes=1_000),
    }
    return _filed(entity, summaries[kind])


# --- writing them fast ----------------------------------------------------------------------------


@dataclass
class Written:
    entities: int = 0
    rows: int = 0
    transactions: int = 0
    seconds: float = 0.0


def _in_parallel(work: Callable[[Any], None], items: Iterable[Any]) -> None:
    with ThreadPoolExecutor(THREADS) as pool:
        for _ in pool.map(work, items):
            pass


def write(table: Any, entities: list[dict[str, Any]]) -> Written:
    """Each entity alone (its own partition), and the index rows in transactions per partition. The
    two are interleaved: Azurite spends its time on entity writes (it looks each key up among all
    entities), the client on building transactions, and interleaved they overlap on the 2 cores."""
    started = time.perf_counter()
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entity in entities:
        for row in index_rows(entity):
            by_partition[row["PartitionKey"]].append(row)
    batches = [
        rows[start : start + TRANSACTION_ROWS]
        for rows in by_partition.values()
        for start in range(0, len(rows), TRANSACTION_ROWS)
    ]
    creates = [functools.partial(table.create_entity, entity) for entity in entities]
    transactions = [
        functools.partial(table.submit_transaction, [("upsert", row) for row in rows]) for rows in batches
    ]
    step = max(1, -(-len(creates) // max(1, len(transactions))))
    tasks: list[Callable[[], Any]] = []
    for index, transaction in enumerate(transactions):
        tasks += [*creates[index * step : (index + 1) * step], transaction]
    tasks += creates[len(transactions) * step :]
    _in_parallel(lambda task: task(), tasks)
    return Written(
        len(entities), sum(len(rows) for rows in batches), len(batches), time.perf_counter() - started
    )


def remove(table: Any, recording_ids: list[str]) -> None:
    """Delete candidates as they are now (the watch moved some), with every index row they have."""

    def one(recording_id: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            entity = dict(table.get_entity(recording_partition(recording_id), "recording"))
            for row in index_rows(entity):
                with contextlib.suppress(ResourceNotFoundError):
                    table.delete_entity(row["PartitionKey"], row["RowKey"])
            table.delete_entity(recording_partition(recording_id), "recording")

    _in_parallel(one, recording_ids)


# --- counting requests ----------------------------------------------------------------------------


class AccessLog:
    """Azurite's access log: the requests it served since the last mark, by kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def _settled_size(self) -> int:
        """The log's size once Azurite has written the lines of the requests already answered."""
        size, deadline = -1, time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.15)
            now = self.path.stat().st_size
            if now == size:
                return now
            size = now
        return size

    def mark(self) -> None:
        self.offset = self._settled_size()

    def since_mark(self) -> dict[str, int]:
        end = self._settled_size()
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read(end - self.offset).decode(errors="replace")
        kinds: Counter[str] = Counter()
        for line in text.splitlines():
            found = _LOG_LINE.search(line)
            if found is None:
                continue
            method, path = found["method"], found["path"]
            kind = ("read" if "(PartitionKey=" in path else "query") if method == "GET" else "write"
            kinds[kind] += 1
        self.offset = end
        return {kind: kinds.get(kind, 0) for kind in ("query", "read", "write")}


# --- one measurement ------------------------------------------------------------------------------


def _timed(call: Callable[[], Any], log: AccessLog) -> tuple[Any, float, dict[str, int]]:
    log.mark()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    return result, seconds, log.since_mark()


def run_once(settings: Any, table: Any, log: AccessLog, per_kind: int) -> dict[str, Any]:
    """Fresh candidates, the health service, one watch run, the candidates removed."""
    from shared.archive.health import OLDEST_LISTED, archive_health
    from shared.archive.watch import PER_RUN, STOPS_CHECKED_PER_RUN, watch_archives

    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    candidates = [candidate(kind, i, run, now) for kind in KINDS for i in range(per_kind)]
    seeded = write(table, candidates)
    answer, health_s, health_requests = _timed(lambda: archive_health(settings, {}, now), log)
    counts = answer["counts"]
    expected = {"AwaitingFiles": per_kind, "Overdue": per_kind, "Retrying": per_kind, "Lost": per_kind}
    assert {status: counts[status] for status in expected} == expected, counts
    assert counts["Completed"] == per_kind, counts
    assert answer["recordings"] == len(KINDS) * per_kind, answer
    for status in ("Overdue", "Retrying", "Lost"):
        attention = answer["attention"][status]
        assert (attention["total"], len(attention["oldest"])) == (per_kind, min(per_kind, OLDEST_LISTED))
    report, watch_s, watch_requests = _timed(lambda: watch_archives(settings, now), log)
    assert len(report.overdue) == min(per_kind, PER_RUN), report
    assert len(report.stops_noticed) == min(per_kind, STOPS_CHECKED_PER_RUN), report
    remove(table, [str(entity["recordingId"]) for entity in candidates])
    return {
        "candidatesPerKind": per_kind,
        "seedSeconds": round(seeded.seconds, 3),
        "health": {"seconds": round(health_s, 4), "requests": health_requests},
        "watch": {
            "seconds": round(watch_s, 4),
            "requests": watch_requests,
            "overdue": len(report.overdue),
            "stopsNoticed": len(report.stops_noticed),
        },
    }


def measure(settings: Any, table: Any, log: AccessLog, per_kind: int, repeats: int) -> dict[str, Any]:
    """`repeats` runs: the median time, and the requests (the same in every run, or it says so)."""
    runs = [run_once(settings, table, log, per_kind) for _ in range(repeats)]
    summary: dict[str, Any] = {"candidatesPerKind": per_kind, "runs": runs}
    for part in ("health", "watch"):
        requests = [run[part]["requests"] for run in runs]
        summary[part] = {
            "seconds": round(statistics.median(run[part]["seconds"] for run in runs), 4),
            "requests": requests[0],
            "requestsVaried": any(other != requests[0] for other in requests),
        }
    summary["watch"]["overdue"] = runs[0]["watch"]["overdue"]
    summary["watch"]["stopsNoticed"] = runs[0]["watch"]["stopsNoticed"]
    return summary


def azurite_request_ms(table: Any, size: int, rng: random.Random) -> dict[str, float]:
    """What one request costs Azurite at this size: a query of an empty partition, a point read of a
    background entity (median of 7 each)."""
    queries, reads = [], []
    list(table.query_entities("PartitionKey eq @pk", parameters={"pk": "w-Nothing"}))  # warm, not timed
    for _ in range(7):
        started = time.perf_counter()
        list(table.query_entities("PartitionKey eq @pk", parameters={"pk": "w-Nothing"}))
        queries.append(time.perf_counter() - started)
        if size:
            recording_id = f"bench-{rng.randrange(size):07d}"
            started = time.perf_counter()
            table.get_entity(recording_partition(recording_id), "recording")
            reads.append(time.perf_counter() - started)
    return {
        "queryMs": round(statistics.median(queries) * 1000, 2),
        "readMs": round(statistics.median(reads) * 1000, 2) if reads else 0.0,
    }


# --- the whole benchmark --------------------------------------------------------------------------


@contextlib.contextmanager
def servers(workdir: Path) -> Iterator[tuple[Any, Any, AccessLog]]:
    """Azurite in memory with its access log, the emulator in its own process, the app's settings."""
    from devtools.azurite import AzuriteServer
    from shared.clients import table_client
    from shared.settings import current_settings
    from shared.worker_cache import reset_worker_caches

    log_path = workdir / "azurite-access.log"
    azurite_server = AzuriteServer(access_log=log_path)
    azurite = azurite_server.start()
    try:
        with running_emulator() as emulator:
            values = {
                "ACS_CONNECTION_STRING": emulator.connection_string,
                "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
                "CATALOG_TABLE": f"scale{uuid.uuid4().hex[:10]}",
                "ARCHIVE_CONTAINER": f"scale-{uuid.uuid4().hex[:10]}",
            }
            with environment(values):
                reset_worker_caches()
                settings = current_settings()
                table = table_client(settings.storage, settings.catalog_table)  # created here, not measured
                try:
                    yield settings, table, AccessLog(log_path)
                finally:
                    reset_worker_caches()
    finally:
        azurite_server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.catalog_scale", description=__doc__)
    parser.add_argument("--full", action="store_true", help="up to 100,000 recordings (~25 minutes)")
    args = parser.parse_args(argv)
    plan = FULL if args.full else QUICK
    rng = random.Random(22)
    logging.getLogger("shared.archive.watch").setLevel(logging.CRITICAL)  # one error line per Overdue
    started_at = time.time()
    load_at_start = [round(load, 2) for load in os.getloadavg()]  # the machine is shared: say how busy
    sizes: list[dict[str, Any]] = []
    seeding: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="catalog-scale-") as work, servers(Path(work)) as found:
        settings, table, log = found
        run_once(settings, table, log, 2)  # warm-up, not recorded: connections, the ACS client, imports
        now, present = datetime.now(UTC), 0
        for size in plan.sizes:
            if size > present:
                print(f"seeding recordings {present:,} to {size:,} ...", flush=True)
                written = write(table, [background(i, now, rng) for i in range(present, size)])
                seeding.append(
                    {
                        "from": present,
                        "to": size,
                        "seconds": round(written.seconds, 1),
                        "entities": written.entities,
                        "indexRows": written.rows,
                        "transactions": written.transactions,
                    }
                )
                print(f"  {written.seconds:.1f} s", flush=True)
                present = size
            print(f"measuring at {size:,} recordings, {plan.per_kind} of each kind ...", flush=True)
            sizes.append(
                {
                    "recordings": size,
                    "azurite": azurite_request_ms(table, size, rng),
                    **measure(settings, table, log, plan.per_kind, plan.repeats),
                }
            )
        candidates = []
        for per_kind in plan.candidate_counts:
            print(f"measuring at {present:,} recordings, {per_kind} of each kind ...", flush=True)
            candidates.append(
                {"recordings": present, **measure(settings, table, log, per_kind, plan.repeats)}
            )
    results = {
        "benchmark": "catalog_scale",
        "mode": plan.mode,
        "machine": describe(),
        "started": started_at,
        "threads": THREADS,
        "loadAverage": {"start": load_at_start, "end": [round(load, 2) for load in os.getloadavg()]},
        "kinds": list(KINDS),
        "seeding": seeding,
        "sizes": sizes,
        "candidates": candidates,
    }
    name = "catalog_scale.json" if args.full else "catalog_scale.quick.json"
    write_json(RESULTS / name, results)
    from benchmarks.report import render_catalog_scale

    print()
    print(render_catalog_scale(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
