"""Archive throughput and memory: recordings from the ACS emulator into Azurite, per method.

Run: `python -m benchmarks.archive_throughput [--quick|--full]`. Prints a table and writes JSON.

Every transfer runs in a fresh process (benchmarks.transfer_worker) while the emulator and Azurite
run in their own processes, so the reported peak RSS growth is the transferring process's alone.
Methods, on the same recordings and servers; the order of methods rotates with each repeat, so
neither drift nor position (a warm page cache, a busy Azurite) favours one:
- ours: the real `archive_chunk` at the app's defaults (`TransferOptions()`), ranged GETs through
  the ACS SDK, staged blocks, one commit;
- seed: sequential `download_recording` of each chunk to a temp file, then `upload_blob` of it;
- wire: hand-signed concurrent ranged GETs straight into Put Block / Put Block List, no SDK. Into
  Azurite this is Azurite's Put Block ceiling (its Node loop saturates), not a physical limit.
Every archived blob is read back from Azurite and its SHA-256 compared with the emulator's.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.machine import describe
from benchmarks.servers import REPO, Admin, Emulator, MiB, running_emulator, write_json
from devtools.azurite import Azurite, running_azurite
from shared.archive.transfer import TransferOptions

# What the app runs: the benchmark cannot drift from the product's defaults.
DEFAULT_RANGE = TransferOptions().range_bytes
DEFAULT_IN_FLIGHT = TransferOptions().in_flight
WORKER_TIMEOUT_S = 600


@dataclass(frozen=True)
class Mode:
    sizes: tuple[int, ...]
    repeats: int
    sweep: tuple[tuple[int, int], ...]  # (range_bytes, in_flight)


def _cross(ranges: tuple[int, ...], flights: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Ranges at the default in_flight, then in_flights at the default range (one-dimensional)."""
    first = tuple((r * MiB, DEFAULT_IN_FLIGHT) for r in ranges)
    return first + tuple((DEFAULT_RANGE, f) for f in flights if (DEFAULT_RANGE, f) not in first)


QUICK = Mode(sizes=(100 * MiB,), repeats=2, sweep=_cross((1, 2, 4, 8, 16), (2, 6, 8)))
FULL = Mode(
    sizes=(100 * MiB, 1024 * MiB),
    repeats=2,
    sweep=tuple((r * MiB, f) for r in (1, 2, 4, 8, 16) for f in (2, 4, 6, 8)),
)


@dataclass
class Servers:
    emulator: Emulator
    admin: Admin
    warmup: list[dict[str, Any]]
    azurite: Azurite | None = None  # a fresh one per group of runs (it keeps blobs in memory)


@contextlib.contextmanager
def running_servers() -> Iterator[Servers]:
    with running_emulator() as emulator:
        admin = Admin(emulator)
        try:
            warmup = admin.recording(32 * 1024, 1)  # 0.25 s of media: code paths, not buffers
            yield Servers(emulator, admin, warmup)
        finally:
            admin.close()


@contextlib.contextmanager
def fresh_azurite(servers: Servers) -> Iterator[None]:
    """In-memory Azurite holds every blob; restart it per group so memory stays bounded."""
    with running_azurite() as azurite:
        servers.azurite = azurite
        try:
            yield
        finally:
            servers.azurite = None


def _container_client(azurite: Azurite, name: str) -> Any:
    from azure.storage.blob import ContainerClient

    return ContainerClient.from_connection_string(azurite.connection_string, name)


def _blob_sha256(container: Any, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    for piece in container.download_blob(name, max_concurrency=2).chunks():
        digest.update(piece)
        size += len(piece)
    return digest.hexdigest(), size


def transfer(
    servers: Servers,
    method: str,
    chunks: list[dict[str, Any]],
    *,
    sink: str = "azurite",
    range_bytes: int = DEFAULT_RANGE,
    in_flight: int = DEFAULT_IN_FLIGHT,
    single_put_bytes: int | None = None,
    telemetry: bool = False,
) -> dict[str, Any]:
    """One transfer of all `chunks` in a fresh worker process, verified, then its blobs deleted.

    `sink="null"`: the bytes are discarded after download (the download side alone)."""
    container = f"bench-{uuid.uuid4().hex[:16]}"
    azurite = servers.azurite
    if sink == "azurite" and azurite is None:
        raise RuntimeError("an Azurite sink needs fresh_azurite()")
    storage = azurite.connection_string if azurite is not None else NULL_STORAGE
    spec = {
        "method": method,
        "sink": sink,
        "rangeBytes": range_bytes,
        "inFlight": in_flight,
        "telemetry": telemetry,
        **({} if single_put_bytes is None else {"singlePutBytes": single_put_bytes}),
        "container": container,
        "prefix": "bench",
        "acsConnectionString": servers.emulator.connection_string,
        "emulatorPort": servers.emulator.port,
        "storageConnectionString": storage,
        "warmup": servers.warmup,
        "chunks": chunks,
    }
    env = {**os.environ, "PYTHONPATH": str(REPO), **servers.emulator.trust_env}
    try:
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.transfer_worker", json.dumps(spec)],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
        )
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"{method} transfer failed:\n{error.stderr[-4000:]}") from error
    result: dict[str, Any] = json.loads(output.stdout.strip().splitlines()[-1])
    verified: bool | None
    if sink == "null":
        digests = result["digests"]
        verified = [c["contentSha256"] for c in chunks] == digests if digests else None
    else:
        assert azurite is not None
        client = _container_client(azurite, container)
        try:
            verified = True
            for chunk, blob in zip(chunks, result["blobs"], strict=True):
                sha, size = _blob_sha256(client, blob)
                verified &= sha == chunk["contentSha256"] and size == int(chunk["contentLength"])
        finally:
            with contextlib.suppress(Exception):
                client.delete_container()
            client.close()
    total = sum(int(c["contentLength"]) for c in chunks)
    return {
        "method": method,
        "sink": sink,
        "bytes": total,
        "chunks": len(chunks),
        "rangeBytes": range_bytes,
        "inFlight": in_flight,
        "seconds": result["seconds"],
        "mbPerS": total / result["seconds"] / 1e6,
        # client CPU (all threads) per 400 MiB: robust on a shared machine, unlike MB/s
        "cpuSecondsPer400Mib": result["cpuSeconds"] * 400 * MiB / total,
        "rssGrowthMib": result["rssGrowthKib"] / 1024,
        "baselineRssMib": result["baselineRssKib"] / 1024,
        "peakSource": result["peakSource"],
        "sha256Verified": verified,
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median throughput over repeats; the worst (largest) RSS growth; verified only if all were."""
    summary = dict(runs[0])
    summary["mbPerS"] = statistics.median(r["mbPerS"] for r in runs)
    summary["mbPerSRuns"] = [round(r["mbPerS"], 1) for r in runs]
    summary["seconds"] = statistics.median(r["seconds"] for r in runs)
    summary["rssGrowthMib"] = max(r["rssGrowthMib"] for r in runs)
    summary["cpuSecondsPer400Mib"] = statistics.median(r["cpuSecondsPer400Mib"] for r in runs)
    flags = [r["sha256Verified"] for r in runs]
    summary["sha256Verified"] = None if None in flags else all(flags)
    return summary


METHODS = ("ours", "wire", "seed")


def rotated(methods: tuple[str, ...], repeat: int) -> tuple[str, ...]:
    """The method order of one repeat: each method takes each position in turn."""
    shift = repeat % len(methods)
    return methods[shift:] + methods[:shift]


# A syntactically valid storage connection string for null-sink runs (nothing connects to it).
NULL_STORAGE = "AccountName=devstoreaccount1;AccountKey=AAAA;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1"


def _verdict(flag: bool | None) -> str:
    return "n/a" if flag is None else ("ok" if flag else "MISMATCH")


def measure(mode: Mode, log: Any = print) -> dict[str, Any]:
    cases: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []

    def logged(run: dict[str, Any], label: str) -> dict[str, Any]:
        log(
            f"  {label:<34} {run['mbPerS']:7.1f} MB/s  cpu {run['cpuSecondsPer400Mib']:5.2f} s/400 MiB"
            f"  rss +{run['rssGrowthMib']:6.1f} MiB"
            f"  sha {_verdict(run['sha256Verified'])}"
        )
        return run

    with running_servers() as servers:
        groups = [(size, chunks) for size in mode.sizes for chunks in (1, 4)]
        recordings = {group: servers.admin.recording(*group) for group in groups}
        for (size, count), chunks in recordings.items():
            runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for repeat in range(mode.repeats):
                with fresh_azurite(servers):
                    for method in rotated(METHODS, repeat):
                        run = transfer(servers, method, chunks)
                        runs.setdefault((method, "azurite"), []).append(
                            logged(run, f"{size // MiB} MiB x{count} {method} -> azurite")
                        )
                if count == 1:
                    for method in rotated(METHODS, repeat):
                        run = transfer(servers, method, chunks, sink="null")
                        runs.setdefault((method, "null"), []).append(
                            logged(run, f"{size // MiB} MiB x{count} {method} -> null")
                        )
            for runs_of_one in runs.values():
                cases.append({"sizeMib": size // MiB, **_summary(runs_of_one)})
        sweep_chunks = recordings[(mode.sizes[0], 1)]
        for sink in ("azurite", "null"):
            with fresh_azurite(servers) if sink == "azurite" else contextlib.nullcontext():
                for range_bytes, in_flight in mode.sweep:
                    run = transfer(
                        servers, "ours", sweep_chunks, sink=sink, range_bytes=range_bytes, in_flight=in_flight
                    )
                    sweep.append(logged(run, f"sweep {range_bytes // MiB} MiB x{in_flight} -> {sink}"))
    return {"cases": cases, "sweep": sweep, "targets": targets(cases)}


def _case(
    cases: list[dict[str, Any]], size: int, chunks: int, method: str, sink: str = "azurite"
) -> dict[str, Any] | None:
    for case in cases:
        if (case["sizeMib"], case["chunks"], case["method"], case["sink"]) == (size, chunks, method, sink):
            return case
    return None


def targets(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 15's targets: ours >= 0.8 x wire (into Azurite: its Put Block ceiling; sink null: the
    download side) and ours >= seed in every case; RSS flat in file size."""
    found: list[dict[str, Any]] = []
    for size in sorted({c["sizeMib"] for c in cases}):
        for chunks in (1, 4):
            for sink in ("azurite", "null"):
                ours, wire, seed = (_case(cases, size, chunks, m, sink) for m in ("ours", "wire", "seed"))
                if ours is None or wire is None or seed is None:
                    continue
                label = f"{size} MiB x{chunks} -> {sink}"
                ceiling = "Azurite's Put Block ceiling (wire)" if sink == "azurite" else "wire"
                found.append(
                    _target(f"{label}: ours >= 0.8 x {ceiling}", ours["mbPerS"] / wire["mbPerS"], 0.8)
                )
                found.append(_target(f"{label}: ours >= seed", ours["mbPerS"] / seed["mbPerS"], 1.0))
    for chunks in (1, 4):
        big, small = _case(cases, 1024, chunks, "ours"), _case(cases, 100, chunks, "ours")
        if big is not None:
            found.append(
                _target(f"1 GiB x{chunks}: ours RSS growth MiB <= 64", big["rssGrowthMib"], 64, upper=True)
            )
            if small is not None:
                found.append(
                    _target(
                        f"1 GiB x{chunks}: ours RSS growth MiB <= 100 MiB's + 2",
                        big["rssGrowthMib"],
                        round(small["rssGrowthMib"] + 2, 1),
                        upper=True,
                    )
                )
    checked = [c["sha256Verified"] for c in cases if c["sha256Verified"] is not None]
    found.append(
        {
            "target": f"every archived blob's SHA-256 = content_sha256() ({len(checked)} cases)",
            "value": all(checked),
            "limit": True,
            "met": all(checked),
            "informational": False,
        }
    )
    return found


def _target(
    name: str, value: float, limit: float, info: bool = False, *, upper: bool = False
) -> dict[str, Any]:
    met = value <= limit if upper else value >= limit
    return {"target": name, "value": round(value, 2), "limit": limit, "met": met, "informational": info}


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        "archive throughput (MB/s = 10^6 B/s end to end; RSS = peak RSS growth of the transferring process;",
        "sink null = bytes discarded after download: the download side alone)",
        f"  {'size':>8} {'chunks':>6} {'sink':<7} {'method':<11} {'MB/s':>7} {'x wire':>7} {'x seed':>7}"
        f" {'RSS MiB':>8}  sha256",
    ]
    cases = result["cases"]
    for case in cases:
        wire = _case(cases, case["sizeMib"], case["chunks"], "wire", case["sink"])
        seed = _case(cases, case["sizeMib"], case["chunks"], "seed", case["sink"])
        lines.append(
            f"  {case['sizeMib']:>4} MiB {case['chunks']:>6} {case['sink']:<7} {case['method']:<11}"
            f" {case['mbPerS']:7.1f} {case['mbPerS'] / wire['mbPerS'] if wire else 0:7.2f}"
            f" {case['mbPerS'] / seed['mbPerS'] if seed else 0:7.2f} {case['rssGrowthMib']:8.1f}"
            f"  {_verdict(case['sha256Verified'])}"
        )
    if result["sweep"]:
        lines.append("  sweep (ours, first size, 1 chunk): range x in_flight -> MB/s, RSS growth")
        for run in result["sweep"]:
            lines.append(
                f"    {run['sink']:<7} {run['rangeBytes'] // MiB:>2} MiB x {run['inFlight']}:"
                f" {run['mbPerS']:7.1f} MB/s {run['rssGrowthMib']:7.1f} MiB"
                f"  {_verdict(run['sha256Verified'])}"
            )
    for target in result["targets"]:
        state = "met" if target["met"] else "MISSED"
        suffix = " (information)" if target["informational"] else ""
        lines.append(f"  [{state}] {target['target']}: {target['value']}{suffix}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="100 MiB only, short sweep (default)")
    group.add_argument("--full", action="store_true", help="100 MiB and 1 GiB, full sweep, 2 repeats")
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "archive_throughput.json"
    )
    args = parser.parse_args(argv)
    mode = FULL if args.full else QUICK
    started = time.time()
    result = measure(mode)
    print("\n".join(table(result)))
    write_json(
        args.out,
        {
            "benchmark": "archive_throughput",
            "mode": "full" if args.full else "quick",
            "machine": describe(),
            "started": started,
            **result,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
