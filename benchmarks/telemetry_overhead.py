"""What OpenTelemetry costs the archive: client CPU per 400 MiB with the app's telemetry on and off.

Run: `python -m benchmarks.telemetry_overhead [--repeats N]`. The same recordings as the archive benchmark
(unmixed WAV, 100 MiB of samples as 1 and as 4 chunks, into Azurite), transferred by `ours` in fresh
processes, on and off interleaved so drift on a shared machine hits both alike. On: the chunk activity's
span and metrics, the Azure SDKs' spans (one per SDK call and HTTP request), all serialized for export
(benchmarks/transfer_worker.py, `_Telemetry`); the network send of an exporter is not included.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.archive_throughput import fresh_azurite, running_servers, transfer
from benchmarks.machine import describe
from benchmarks.servers import REPO, MiB, write_json


def measure(repeats: int, log: Any = print) -> dict[str, Any]:
    cases: list[dict[str, Any]] = []
    with running_servers() as servers:
        for chunks_per_recording in (1, 4):
            chunks = servers.admin.recording(100 * MiB, chunks_per_recording)
            runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
            with fresh_azurite(servers):
                for repeat in range(repeats):
                    order = ("off", "on") if repeat % 2 == 0 else ("on", "off")
                    for mode in order:
                        run = transfer(servers, "ours", chunks, telemetry=mode == "on")
                        assert run["sha256Verified"], run
                        runs[mode].append(run)
                        log(
                            f"  100 MiB x{chunks_per_recording} telemetry {mode:<3} "
                            f"{run['mbPerS']:6.1f} MB/s  cpu {run['cpuSecondsPer400Mib']:5.2f} s/400 MiB"
                        )
            off = statistics.median(r["cpuSecondsPer400Mib"] for r in runs["off"])
            on = statistics.median(r["cpuSecondsPer400Mib"] for r in runs["on"])
            cases.append(
                {
                    "size": "100 MiB",
                    "chunks": chunks_per_recording,
                    "cpuSecondsPer400MibOff": off,
                    "cpuSecondsPer400MibOn": on,
                    "overheadPercent": (on - off) / off * 100,
                    "mbPerSOff": statistics.median(r["mbPerS"] for r in runs["off"]),
                    "mbPerSOn": statistics.median(r["mbPerS"] for r in runs["on"]),
                    "repeats": repeats,
                }
            )
    return {"benchmark": "telemetry_overhead", "machine": describe(), "cases": cases}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results" / "telemetry_overhead.json"
    )
    args = parser.parse_args(argv)
    started = time.time()
    result = {**measure(args.repeats), "started": started}
    for case in result["cases"]:
        print(
            f"100 MiB x{case['chunks']}: client CPU per 400 MiB {case['cpuSecondsPer400MibOff']:.2f} s off, "
            f"{case['cpuSecondsPer400MibOn']:.2f} s on ({case['overheadPercent']:+.1f} %)"
        )
    write_json(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
