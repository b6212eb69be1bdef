"""Control latency: start, pause, resume, stop through the local host vs direct SDK calls.

Run: `python -m benchmarks.control_latency [--iterations N]`. Prints a table and writes JSON.

The ACS emulator, Azurite (the catalog table) and the local Functions host
(`devtools.devhost.DevHost` serving function_app, in `benchmarks.devhost_server`) each run in their
own process. Each iteration, on a fresh call, does start -> (wait until active, untimed) ->
pause -> resume -> stop once through `/api/recordings...` (keep-alive HTTP) and once with
`CallAutomationClient` straight to the emulator (the same start options our route sends),
interleaved so drift hits both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from benchmarks.machine import describe
from benchmarks.servers import REPO, Admin, Emulator, running_emulator, write_json
from devtools.azurite import Azurite, running_azurite
from devtools.ports import free_port, wait_for_port

OPERATIONS = ("start", "pause", "resume", "stop")
WARMUP_ITERATIONS = 5


@contextlib.contextmanager
def running_devhost(emulator: Emulator, azurite: Azurite, key: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **emulator.trust_env,
        "PYTHONPATH": str(REPO),
        "ACS_CONNECTION_STRING": emulator.connection_string,
        "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "CATALOG_TABLE": f"bench{uuid.uuid4().hex[:12]}",
        "ARCHIVE_CONTAINER": f"bench-{uuid.uuid4().hex[:12]}",
        "DEVHOST_FUNCTION_KEY": key,
    }
    for name in (
        "ACS_ENDPOINT",
        "ARCHIVE_STORAGE_ACCOUNT_URL",
        "AzureWebJobsStorage",
        "RECORDING_STATE_CALLBACK_URL",
    ):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.devhost_server", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _timed(samples: dict[str, list[float]], name: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    samples[name].append((time.perf_counter() - started) * 1000)
    return result


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def measure(iterations: int, budget_s: float = 60.0) -> dict[str, Any]:
    from shared.recording.options import parse_start_request

    key = secrets.token_urlsafe(16)
    with running_azurite() as azurite, running_emulator() as emulator:
        admin = Admin(emulator)
        session = requests.Session()
        session.headers["x-functions-key"] = key
        try:
            with running_devhost(emulator, azurite, key) as base:
                api = f"{base}/api/recordings"
                host: dict[str, list[float]] = {name: [] for name in OPERATIONS}
                direct: dict[str, list[float]] = {name: [] for name in OPERATIONS}

                def expect(response: requests.Response, status: int) -> requests.Response:
                    if response.status_code != status:
                        raise RuntimeError(f"host answered {response.status_code}: {response.text[:300]}")
                    return response

                def through_host(samples: dict[str, list[float]]) -> None:
                    call = admin.create_call()
                    started = _timed(
                        samples,
                        "start",
                        lambda: expect(session.post(api, json={"serverCallId": call}, timeout=30), 201),
                    )
                    rid = started.json()["recordingId"]
                    admin.wait_active(rid)
                    _timed(
                        samples, "pause", lambda: expect(session.post(f"{api}/{rid}/pause", timeout=30), 202)
                    )
                    _timed(
                        samples,
                        "resume",
                        lambda: expect(session.post(f"{api}/{rid}/resume", timeout=30), 202),
                    )
                    _timed(samples, "stop", lambda: expect(session.delete(f"{api}/{rid}", timeout=30), 204))

                def through_sdk(samples: dict[str, list[float]]) -> None:
                    call = admin.create_call()
                    kwargs = parse_start_request({"serverCallId": call}).to_sdk_kwargs()
                    started = _timed(samples, "start", lambda: admin.acs.start_recording(**kwargs))
                    rid = str(started.recording_id)
                    admin.wait_active(rid)
                    _timed(samples, "pause", lambda: admin.acs.pause_recording(rid))
                    _timed(samples, "resume", lambda: admin.acs.resume_recording(rid))
                    _timed(samples, "stop", lambda: admin.acs.stop_recording(rid))

                scratch: dict[str, list[float]] = {name: [] for name in OPERATIONS}
                for _ in range(WARMUP_ITERATIONS):
                    through_host(scratch)
                    through_sdk(scratch)
                deadline = time.monotonic() + budget_s
                done = 0
                while done < iterations and time.monotonic() < deadline:
                    through_host(host)
                    through_sdk(direct)
                    done += 1
        finally:
            session.close()
            admin.close()
    operations = {}
    for name in OPERATIONS:
        ours, sdk = host[name], direct[name]
        operations[name] = {
            "host_p50_ms": statistics.median(ours),
            "host_p99_ms": _percentile(ours, 0.99),
            "sdk_p50_ms": statistics.median(sdk),
            "sdk_p99_ms": _percentile(sdk, 0.99),
            "p50_ratio": statistics.median(ours) / statistics.median(sdk),
            "p99_ratio": _percentile(ours, 0.99) / _percentile(sdk, 0.99),
            "p50_overhead_ms": statistics.median(ours) - statistics.median(sdk),
        }
    return {"iterations": done, "operations": operations}


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"control latency, ms ({result['iterations']} iterations;"
        " host = HTTP to devtools.devhost -> SDK -> emulator, sdk = CallAutomationClient -> emulator)",
        f"  {'op':<7} {'host p50':>9} {'host p99':>9} {'sdk p50':>8} {'sdk p99':>8} {'p50 x':>6} {'p99 x':>6}"
        f" {'+ms p50':>8}",
    ]
    for name, row in result["operations"].items():
        lines.append(
            f"  {name:<7} {row['host_p50_ms']:9.2f} {row['host_p99_ms']:9.2f} {row['sdk_p50_ms']:8.2f}"
            f" {row['sdk_p99_ms']:8.2f} {row['p50_ratio']:6.2f} {row['p99_ratio']:6.2f}"
            f" {row['p50_overhead_ms']:8.2f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--budget", type=float, default=60.0, help="stop measuring after this many seconds")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "control_latency.json")
    args = parser.parse_args(argv)
    started = time.time()
    result = measure(args.iterations, args.budget)
    print("\n".join(table(result)))
    write_json(
        args.out, {"benchmark": "control_latency", "machine": describe(), "started": started, **result}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
