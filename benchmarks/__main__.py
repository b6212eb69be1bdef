"""All benchmarks: `python -m benchmarks [--quick|--full]` (quick is the default; `make bench`).

Runs cold start, control latency and archive throughput/memory, prints one table per benchmark
and writes each result (with `machine.describe()`) to benchmarks/results/<name>.json (full) or
benchmarks/results/<name>.quick.json (quick), so a quick run never overwrites the full numbers.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import archive_throughput, chunk_cost, cold_start, control_latency
from benchmarks.machine import describe
from benchmarks.servers import write_json

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--quick", action="store_true", help="100 MiB only, short sweep (default; a few minutes)"
    )
    group.add_argument("--full", action="store_true", help="100 MiB and 1 GiB, full sweep (~15 minutes)")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "quick"
    suffix = "" if args.full else ".quick"
    machine = describe()
    sections: list[list[str]] = []

    started = time.time()
    print("cold start ...", flush=True)
    runs = 9 if args.full else 5
    cold = cold_start.measure(runs)
    write_json(
        RESULTS / f"cold_start{suffix}.json",
        {"benchmark": "cold_start", "mode": mode, "machine": machine, "started": started, **cold},
    )
    sections.append(
        [
            f"cold start (import + index), median of {runs} fresh processes",
            f"  function_app {cold['ours_median_s'] * 1000:7.1f} ms"
            f"   bare DFApp {cold['bare_median_s'] * 1000:7.1f} ms"
            f"   ratio {cold['ratio']:.2f} (target <= 1.30: {'met' if cold['ratio'] <= 1.3 else 'MISSED'})",
        ]
    )

    started = time.time()
    print("control latency ...", flush=True)
    latency = control_latency.measure(400 if args.full else 150, budget_s=60.0 if args.full else 30.0)
    write_json(
        RESULTS / f"control_latency{suffix}.json",
        {"benchmark": "control_latency", "mode": mode, "machine": machine, "started": started, **latency},
    )
    sections.append(control_latency.table(latency))

    started = time.time()
    print("archive throughput ...", flush=True)
    archive = archive_throughput.measure(archive_throughput.FULL if args.full else archive_throughput.QUICK)
    write_json(
        RESULTS / f"archive_throughput{suffix}.json",
        {"benchmark": "archive_throughput", "mode": mode, "machine": machine, "started": started, **archive},
    )
    sections.append(archive_throughput.table(archive))

    print("per-chunk fixed cost ...", flush=True)
    sections.append(chunk_cost.run(full=args.full))

    print()
    for section in sections:
        print("\n".join(section))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
