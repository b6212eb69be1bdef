"""Cold start: import function_app and index its functions, against a bare DFApp, in fresh processes.

Run: `python -m benchmarks.cold_start [--runs N]`. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.machine import describe

REPO = Path(__file__).resolve().parents[1]

OURS = "import function_app; function_app.app.get_functions()"
BARE = (
    "import azure.durable_functions as df, azure.functions as func\n"
    "app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)\n"
    "@app.route(route='ping')\n"
    "def ping(req: func.HttpRequest) -> func.HttpResponse:\n"
    "    return func.HttpResponse('pong')\n"
    "app.get_functions()"
)


# The same, with APPLICATIONINSIGHTS_CONNECTION_STRING set: the first telemetry call configures the Azure
# Monitor distro (its import and set-up are the cost). Everything it could reach is on loopback (a closed
# port), statsbeat is off, and the process ends before any export (os._exit): nothing leaves the machine.
TELEMETRY_ENV = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000;"
    "IngestionEndpoint=https://127.0.0.1:9/;LiveEndpoint=https://127.0.0.1:9/",
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token",
    "IDENTITY_HEADER": "cold-start",
}
OURS_WITH_TELEMETRY = (
    f"import os; os.environ.update({TELEMETRY_ENV!r})\n"
    f"{OURS}\n"
    "from shared import telemetry; assert telemetry.enabled()"
)


def _time_once(code: str) -> float:
    wrapper = (
        f"import time, os; t = time.perf_counter()\n{code}\n"
        "print(time.perf_counter() - t, flush=True); os._exit(0)"
    )
    output = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=REPO, check=True, capture_output=True, text=True
    )
    return float(output.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, Any]:
    ours, bare, telemetry = [], [], []
    for _ in range(runs):  # interleaved, so drift on a shared machine hits both alike
        ours.append(_time_once(OURS))
        bare.append(_time_once(BARE))
        telemetry.append(_time_once(OURS_WITH_TELEMETRY))
    result = {
        "ours_median_s": statistics.median(ours),
        "bare_median_s": statistics.median(bare),
        "ours_with_telemetry_median_s": statistics.median(telemetry),
        "runs": runs,
    }
    result["ratio"] = result["ours_median_s"] / result["bare_median_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cold_start.json")
    args = parser.parse_args(argv)
    started = time.time()
    result = measure(args.runs)
    print(f"cold start (import + index), median of {args.runs} fresh processes")
    print(f"  function_app : {result['ours_median_s'] * 1000:7.1f} ms")
    print(f"  bare DFApp   : {result['bare_median_s'] * 1000:7.1f} ms")
    print(f"  ratio        : {result['ratio']:.2f}  (target <= 1.30)")
    print(
        f"  function_app with Application Insights on (first use configures the distro): "
        f"{result['ours_with_telemetry_median_s'] * 1000:7.1f} ms"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"benchmark": "cold_start", "machine": describe(), "started": started, **result}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
