"""Per-chunk fixed cost: what one chunk costs besides its bytes (`python -m benchmarks.chunk_cost`).

A recording of many tiny chunks (8 KiB of media each) is archived by the real `archive_chunk` in a
fresh worker process (benchmarks.transfer_worker, the app's defaults), one chunk after another, into
Azurite; with so few bytes the time per chunk is the fixed cost: the archived-already check, the
metadata document (GET through the 302, Put Blob), the first range, the block list, the commit and
its check. Measured twice: at the defaults (a chunk this small is one Put Blob) and with staged
blocks forced (`single_put_bytes=0`), the path of every chunk over 32 MiB. Also counted: the ACS
requests per chunk (the emulator's request log). Writes results/chunk_cost[.quick].json.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.archive_throughput import fresh_azurite, running_servers, transfer
from benchmarks.machine import describe
from benchmarks.servers import PARTICIPANTS, REPO, write_json

MEDIA_PER_CHUNK = 8 * 1024
TARGET_MS = 20.0
PATHS = (("one Put Blob (default)", None), ("staged blocks (chunks over 32 MiB)", 0))


def _acs_requests(admin: Any, chunks: list[dict[str, Any]]) -> int:
    """Requests the emulator saw for these chunks (content and metadata, every hop of the 302)."""
    ids = {chunk["documentId"] for chunk in chunks}
    seen = admin.call("requests", "GET", "/requests")
    return sum(1 for request in seen if any(i in request["target"] for i in ids))


def measure(count: int, repeats: int) -> list[dict[str, Any]]:
    results = []
    with running_servers() as servers:
        media = MEDIA_PER_CHUNK * count
        media -= media % (2 * PARTICIPANTS * count)
        for label, single_put in PATHS:
            runs: list[dict[str, Any]] = []
            for _ in range(repeats):
                chunks = servers.admin.recording(media, count)  # fresh chunks: nothing archived yet
                servers.admin.call("clear requests", "DELETE", "/requests")
                with fresh_azurite(servers):
                    run = transfer(servers, "ours", chunks, single_put_bytes=single_put)
                run["acsRequestsPerChunk"] = _acs_requests(servers.admin, chunks) / count
                runs.append(run)
            ms = [run["seconds"] / count * 1000 for run in runs]
            results.append(
                {
                    "path": label,
                    "singlePutBytes": single_put,
                    "chunks": count,
                    "mediaBytesPerChunk": media // count,
                    "msPerChunk": round(statistics.median(ms), 2),
                    "msPerChunkRuns": [round(m, 2) for m in ms],
                    "acsRequestsPerChunk": runs[0]["acsRequestsPerChunk"],
                    "verified": all(run["sha256Verified"] for run in runs),
                }
            )
            print(
                f"  {label:<36} {results[-1]['msPerChunk']:6.2f} ms per chunk"
                f"  ({results[-1]['acsRequestsPerChunk']:.0f} ACS requests each)",
                flush=True,
            )
    return results


def targets(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "target": f"per-chunk fixed cost, {case['path']}: ms <= {TARGET_MS:g}",
            "value": case["msPerChunk"],
            "limit": TARGET_MS,
            "met": case["msPerChunk"] <= TARGET_MS,
        }
        for case in cases
    ]


def run(*, full: bool, out: Path | None = None) -> list[str]:
    """Measure, write results/chunk_cost[.quick].json (or `out`), return the printed summary."""
    count, repeats = (64, 5) if full else (32, 3)
    started = time.time()
    cases = measure(count, repeats)
    found = targets(cases)
    write_json(
        out or REPO / "benchmarks" / "results" / f"chunk_cost{'' if full else '.quick'}.json",
        {
            "benchmark": "chunk_cost",
            "mode": "full" if full else "quick",
            "machine": describe(),
            "started": started,
            "cases": cases,
            "targets": found,
        },
    )
    return [
        f"per-chunk fixed cost ({count} chunks of {MEDIA_PER_CHUNK // 1024} KiB, median of {repeats})"
    ] + [f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['value']}" for t in found]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="64 chunks, 5 repeats (default: 32 x 3)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    print("\n".join(run(full=args.full, out=args.out)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
