"""The chaos scenarios. Each records through the app, breaks something, and returns what it found.

Sizes are small in `make test` (2 cores) and larger with CHAOS_SOAK=1; the seed of the injected
faults is CHAOS_SEED when given, else drawn, and always reported so a failure can be replayed.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.acs_emulator.events import EVENT_TYPE as FILE_EVENT
from tests.chaos.stack import ChaosStack, Verdict, wait_until

DOWNLOADS = r"^/v1/objects/[^/]+/content/"
FAULT_SHARE = 0.2  # of download requests that get at least one fault
# (kind, label, options): six independent rules, each firing on 1 - 0.8^(1/6) = 3.65 % of requests.
FAULT_MIX: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("status", "500", {"status": 500}),
    ("status", "503 + Retry-After", {"status": 503, "retry_after": 1}),
    ("status", "429 + Retry-After", {"status": 429, "retry_after": 1}),
    ("reset", "reset mid-body", {"after_bytes": 100}),  # less than any metadata document
    ("truncate", "truncated body", {"after_bytes": 100}),
    ("latency", "slow (0.5 s)", {"seconds": 0.5}),
)
RULE_PROBABILITY = 1 - (1 - FAULT_SHARE) ** (1 / len(FAULT_MIX))


@dataclass(frozen=True)
class Size:
    recordings: int
    duration_s: float  # mixed WAV: 32 000 bytes per second of media
    chunk_bytes: int


SOAK = os.environ.get("CHAOS_SOAK") == "1"
# The soak adds recordings for the fault statistics, and chunks over the 4 MiB range size for the
# restarts, so the transfers they interrupt are multi-range ones.
SIZES = {
    "faults": Size(24, 40.0, 256 * 1024) if SOAK else Size(6, 12.0, 64 * 1024),
    "azurite": Size(6, 300.0, 6 * 1024 * 1024) if SOAK else Size(2, 24.0, 256 * 1024),
    "sigkill": Size(6, 300.0, 6 * 1024 * 1024) if SOAK else Size(2, 24.0, 256 * 1024),
    "acs-outage": Size(2, 24.0, 256 * 1024),
    "azurite-outage": Size(2, 24.0, 256 * 1024),
}
# The outages of issue 22, at full length, with the app's default retry settings: an outage shorter
# than the deadline must heal by itself.
ACS_OUTAGE_S = 180.0
AZURITE_OUTAGE_S = 120.0
OUTAGE_TIMEOUT_S = 900.0
TIMEOUT_S = 600.0 if SOAK else 150.0


def chaos_seed() -> int:
    return int(os.environ.get("CHAOS_SEED") or secrets.randbits(31))


@dataclass
class ScenarioRun:
    scenario: str
    recordings: list[str]
    verdict: Verdict
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)
    observed: dict[str, Any] = field(default_factory=dict)
    disruptions: dict[str, Any] = field(default_factory=dict)
    expected_failed: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    size: Size | None = None
    served: tuple[int, int] = (0, 0)  # chunks and bytes of all its recordings, as the emulator holds them

    @property
    def passed(self) -> bool:
        return not self.verdict.problems and all(self.disruptions.get("midTransfer", [True]))

    def to_json(self) -> dict[str, Any]:
        assert self.size is not None
        archived = len(self.verdict.verified)
        expected = len(self.recordings) - len(self.expected_failed)
        result = (
            f"{archived}/{expected} recordings archived once, SHA-256 identical; "
            f"{self.verdict.unverified_deletes} unverified deletes"
        )
        if self.expected_failed:
            result += f"; {len(self.expected_failed)} unarchivable kept at ACS"
        return {
            "scenario": self.scenario,
            "recordings": len(self.recordings),
            "chunks": self.served[0],
            "bytes": self.served[1],
            "chunksVerified": self.verdict.chunks,
            "chunkBytes": self.size.chunk_bytes,
            "faultsInjected": self.injected,
            "faultsObserved": self.observed,
            "disruptions": self.disruptions,
            "result": ("pass: " if self.passed else "FAIL: ") + result,
            "problems": self.verdict.problems,
            "seed": self.seed,
            "wallSeconds": round(self.wall_s, 1),
        }


def _begin(stack: ChaosStack, size: Size) -> None:
    """A clean emulator for the scenario: its chunk size, no faults, an empty request log."""
    stack.emulator.max_chunk_bytes = size.chunk_bytes
    stack.emulator.clear_faults()
    stack.emulator.clear_requests()


def _observed_downloads(stack: ChaosStack) -> dict[str, Any]:
    downloads = stack.downloads()
    return {"downloadRequests": len(downloads), "retriedDownloads": len(downloads) - len(set(downloads))}


def download_faults(stack: ChaosStack) -> ScenarioRun:
    """20 % of downloads faulted (500, 503/429 with Retry-After, reset, truncation, slow); one
    recording whose chunk is gone at ACS (404) must fail and keep every ACS copy."""
    size, seed, started = SIZES["faults"], chaos_seed(), time.monotonic()
    _begin(stack, size)
    # the recording whose chunk ACS lost is Lost after 10 s of 404s, not the 30 minutes of production
    stack.start_host(
        "faults",
        ARCHIVE_LOST_AFTER_SECONDS="10",
        ARCHIVE_RETRY_FIRST_SECONDS="2",
        ARCHIVE_RETRY_MAX_SECONDS="4",
    )
    rules = [
        (
            label,
            stack.emulator.add_fault(
                kind,
                DOWNLOADS,
                count=None,
                method="GET",
                probability=RULE_PROBABILITY,
                seed=seed + i,
                **options,
            ),
        )
        for i, (kind, label, options) in enumerate(FAULT_MIX)
    ]
    recordings = stack.record(size.recordings, size.duration_s)
    # The unarchivable one: its second chunk is gone at ACS: Lost, and nothing of it may be deleted.
    unarchivable = stack.record(1, size.duration_s, gone_chunk=1)
    archives = stack.wait_for_archives(recordings + unarchivable, TIMEOUT_S)
    verdict = stack.verify(archives, expect_lost=unarchivable)
    matched = max((rule.matched for _, rule in rules), default=0)
    injected = {label: rule.applied for label, rule in rules}
    untouched = 1.0
    for _, rule in rules:
        untouched *= 1 - rule.applied / rule.matched if rule.matched else 1
    observed = {**_observed_downloads(stack), "faultedShare": round(1 - untouched, 3), "matched": matched}
    stack.capture_what_the_app_wrote("faults")
    stack.emulator.clear_faults()
    stack.stop_host()
    return ScenarioRun(
        "download faults (20 %)",
        recordings + unarchivable,
        verdict,
        seed,
        injected,
        observed,
        expected_failed=unarchivable,
        wall_s=time.monotonic() - started,
        size=size,
        served=stack.served(recordings + unarchivable),
    )


def _slow_downloads(stack: ChaosStack, size: Size) -> None:
    # 2-3 s per chunk, so the disruption lands while chunks are still in flight
    stack.emulator.add_fault(
        "bandwidth", DOWNLOADS, count=None, method="GET", bytes_per_second=size.chunk_bytes // 2
    )


def _first_download(stack: ChaosStack, after: int = 0) -> None:
    wait_until(lambda: len(stack.downloads()) > after, 30, "the archive never started downloading")


def azurite_restart(stack: ChaosStack) -> ScenarioRun:
    """Azurite (archive, catalog and Durable store) goes down and comes back once, mid-transfer."""
    size, started = SIZES["azurite"], time.monotonic()
    _begin(stack, size)
    stack.start_host("azurite")
    _slow_downloads(stack, size)
    recordings = stack.record(size.recordings, size.duration_s)
    _first_download(stack)
    time.sleep(1.0)
    committed = stack.content_blobs_committed(recordings)
    stack.azurite.restart()
    stack.emulator.clear_faults()
    archives = stack.wait_for_archives(recordings, TIMEOUT_S)
    verdict = stack.verify(archives)
    total = sum(len(stack.emulator.recording_files(r).chunks) for r in recordings)
    stack.capture_what_the_app_wrote("azurite")
    stack.stop_host()
    return ScenarioRun(
        "Azurite restarted mid-transfer",
        recordings,
        verdict,
        None,
        {"Azurite restarts": 1},
        _observed_downloads(stack),
        {
            "azuriteRestarts": 1,
            "chunksCommittedBefore": [committed],
            "chunksTotal": total,
            "midTransfer": [committed < total],
        },
        wall_s=time.monotonic() - started,
        size=size,
        served=stack.served(recordings),
    )


def host_sigkill(stack: ChaosStack) -> ScenarioRun:
    """The local host is SIGKILLed twice mid-archive and restarted on the same port and store."""
    size, started = SIZES["sigkill"], time.monotonic()
    _begin(stack, size)
    host = stack.start_host("sigkill")
    _slow_downloads(stack, size)
    recordings = stack.record(size.recordings, size.duration_s)
    total = sum(len(stack.emulator.recording_files(r).chunks) for r in recordings)
    committed_before: list[int] = []
    for _ in range(2):
        _first_download(stack, after=len(stack.downloads()))
        time.sleep(1.0)
        host.kill()
        committed_before.append(stack.content_blobs_committed(recordings))
        host.start()
    stack.emulator.clear_faults()
    archives = stack.wait_for_archives(recordings, TIMEOUT_S)
    verdict = stack.verify(archives)
    stack.capture_what_the_app_wrote("sigkill")
    stack.stop_host()
    return ScenarioRun(
        "local host SIGKILLed twice mid-archive",
        recordings,
        verdict,
        None,
        {"SIGKILLs": 2},
        _observed_downloads(stack),
        {
            "hostKills": 2,
            "chunksCommittedBefore": committed_before,
            "chunksTotal": total,
            "midTransfer": [c < total for c in committed_before],
        },
        wall_s=time.monotonic() - started,
        size=size,
        served=stack.served(recordings),
    )


def acs_outage(stack: ChaosStack) -> ScenarioRun:
    """The recording host answers 503 (no Retry-After) to every content request for three minutes
    from the first download, then recovers: no redelivery, no human action, default settings."""
    size, started = SIZES["acs-outage"], time.monotonic()
    _begin(stack, size)
    stack.start_host("acs-outage")
    delivered_before = len(stack.emulator.event_deliveries)
    outage = stack.emulator.add_fault("status", DOWNLOADS, count=None, method="GET", status=503)
    recordings = stack.record(size.recordings, size.duration_s)
    _first_download(stack)
    down_at = time.monotonic()
    time.sleep(ACS_OUTAGE_S)
    # still trying at the end of the outage: neither given up (Lost) nor done (the fault held)
    at_outage_end = sorted(str((stack.archive(r) or {}).get("status")) for r in recordings)
    stack.emulator.clear_faults()
    refused = outage.applied
    archives = stack.wait_for_archives(recordings, OUTAGE_TIMEOUT_S)
    healed_after = time.monotonic() - down_at
    verdict = stack.verify(archives)
    deliveries = _file_event_deliveries(stack, delivered_before)
    stack.capture_what_the_app_wrote("acs-outage")
    stack.stop_host()
    return ScenarioRun(
        "recording host down 3 minutes (every download 503)",
        recordings,
        verdict,
        None,
        {"503 answers during the outage": refused},
        {
            **_observed_downloads(stack),
            "fileEventDeliveries": deliveries,
            "healedAfterSeconds": round(healed_after),
            "statusAtOutageEnd": at_outage_end,
        },
        {"outageSeconds": ACS_OUTAGE_S, "attempts": [a.get("attempt") for a in archives.values()]},
        wall_s=time.monotonic() - started,
        size=size,
        served=stack.served(recordings),
    )


def azurite_outage(stack: ChaosStack) -> ScenarioRun:
    """Azurite (archive, catalog and Durable store) is stopped for two minutes mid-archive, then
    started again on the same ports with its data: the archives finish by themselves."""
    size, started = SIZES["azurite-outage"], time.monotonic()
    _begin(stack, size)
    stack.start_host("azurite-outage")
    delivered_before = len(stack.emulator.event_deliveries)
    _slow_downloads(stack, size)
    recordings = stack.record(size.recordings, size.duration_s)
    _first_download(stack)
    time.sleep(1.0)
    committed = stack.content_blobs_committed(recordings)
    stack.azurite.stop()
    time.sleep(AZURITE_OUTAGE_S)
    stack.azurite.start()
    stack.emulator.clear_faults()
    archives = stack.wait_for_archives(recordings, OUTAGE_TIMEOUT_S)
    verdict = stack.verify(archives)
    total = sum(len(stack.emulator.recording_files(r).chunks) for r in recordings)
    deliveries = _file_event_deliveries(stack, delivered_before)
    stack.capture_what_the_app_wrote("azurite-outage")
    stack.stop_host()
    return ScenarioRun(
        "Azurite stopped 2 minutes mid-archive",
        recordings,
        verdict,
        None,
        {"Azurite outages": 1},
        {**_observed_downloads(stack), "fileEventDeliveries": deliveries},
        {
            "outageSeconds": AZURITE_OUTAGE_S,
            "chunksCommittedBefore": [committed],
            "chunksTotal": total,
            "midTransfer": [committed < total],
        },
        wall_s=time.monotonic() - started,
        size=size,
        served=stack.served(recordings),
    )


def _file_event_deliveries(stack: ChaosStack, since: int) -> int:
    """File event deliveries the emulator made since the `since`-th: one per recording, and a
    redelivery (a second attempt, after our webhook failed) would add to them."""
    return sum(
        1
        for d in stack.emulator.event_deliveries[since:]
        if d.kind == "notification" and d.event_type == FILE_EVENT  # not the calls' events
    )
