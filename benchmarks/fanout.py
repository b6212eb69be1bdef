"""The whole fan-out through the local stack: Event Grid delivery -> orchestrator -> activities -> Azurite.

Run: `python -m benchmarks.fanout [--quick|--full]`. Prints a table and writes results/fanout.json.

The archive benchmark calls the chunk transfer directly; this one goes the way an event goes: the
real app, indexed as the worker indexes it, on the local host (`devtools.devhost`) with the local
Durable engine (its instance store in Azurite Table storage, `host.json`'s concurrency), the
emulator serving the chunks (with its 302 per download) and Azurite as the archive. Events are
built by the emulator and delivered to the Event Grid webhook all at once; the clock runs from the
first delivery until every archive is `Completed`. Chunks are small on purpose (64 KiB of media):
the figure is the orchestration's cost per chunk, and whether it grows linearly with the chunk count
(each completion replays the orchestration's whole history).

Everything but Azurite runs in this one process (host, engine, emulator and transfers together):
peak RSS is reported for this process, for Azurite (the peak of every process this one started:
Node), and as their sum.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from benchmarks.machine import describe
from benchmarks.servers import REPO, environment, write_json
from shared.archive.orchestration import BATCH_CHUNKS, BATCHES_AT_ONCE

CHUNK_MEDIA_BYTES = 64 * 1024
PARTICIPANTS = ("8:acs:fanout_a", "8:acs:fanout_b")
BYTES_PER_SECOND = 16_000 * 2 * len(PARTICIPANTS)  # 16 kHz, 16-bit, one channel per participant
EVENT_FUNCTION = "on_acs_event"
QUICK = ((1, 1), (1, 32), (1, 128), (8, 8))  # (recordings, chunks each)
FULL = ((1, 1), (1, 32), (1, 256), (20, 8))


@contextmanager
def local_stack() -> Iterator[dict[str, Any]]:
    """Azurite, the emulator, and the app on the local host with its Durable engine."""
    import certifi

    from devtools.acs_emulator import AcsEmulator
    from devtools.azurite import running_azurite
    from devtools.devhost import DevHost
    from devtools.devhost.durable import durable_engine
    from devtools.devhost.host import start_worker
    from shared.worker_cache import reset_worker_caches

    with running_azurite() as azurite, AcsEmulator(file_status_delay=3600.0) as emulator:
        bundle = Path(tempfile.mkdtemp(prefix="fanout-")) / "ca.pem"
        bundle.write_text(Path(certifi.where()).read_text() + "\n" + Path(emulator.ca_pem_path).read_text())
        settings = {
            "REQUESTS_CA_BUNDLE": str(bundle),
            "SSL_CERT_FILE": str(bundle),
            "ACS_CONNECTION_STRING": emulator.connection_string,
            "ARCHIVE_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "CATALOG_TABLE": f"fanout{uuid.uuid4().hex[:10]}",
            "ARCHIVE_CONTAINER": f"fanout-{uuid.uuid4().hex[:10]}",
            "ARCHIVE_DELETE_SOURCE": "false",
            "ACS_RESOURCE_ID": emulator.resource_id,
            "ACS_OPENID_CONFIGURATION_URL": emulator.openid_configuration_url,
        }
        with environment(settings), emulator.loopback_dns():
            reset_worker_caches()
            worker = start_worker(REPO, emulator_dns_port=emulator.port)  # the app runs in the Python worker
            engine = durable_engine(
                worker,
                storage=azurite.connection_string,
                host_json=REPO / "host.json",
                table=f"fanout{uuid.uuid4().hex[:10]}",
            ).start()
            host = DevHost(worker, port=0, durable_client=engine.client_binding_json).start()
            try:
                yield {"emulator": emulator, "engine": engine, "host": host}
            finally:
                host.stop()
                engine.stop()
                worker.stop()


def _recording(emulator: Any, chunks: int) -> str:
    from azure.communication.callautomation import CallAutomationClient

    call = emulator.create_call(participants=list(PARTICIPANTS))
    client = CallAutomationClient.from_connection_string(emulator.connection_string)
    started = client.start_recording(
        server_call_id=call.server_call_id,
        recording_channel_type="unmixed",
        recording_content_type="audio",
        recording_format_type="wav",
    )
    recording_id = str(started.recording_id)
    deadline = time.monotonic() + 10
    while emulator.recording(recording_id).state != "active":
        if time.monotonic() > deadline:
            raise TimeoutError("the recording never became active")
        time.sleep(0.01)
    emulator.max_chunk_bytes = CHUNK_MEDIA_BYTES + 44
    files = emulator.stop_recording(recording_id, duration_s=chunks * CHUNK_MEDIA_BYTES / BYTES_PER_SECOND)
    if len(files.chunks) != chunks:
        raise RuntimeError(f"asked for {chunks} chunks, the emulator made {len(files.chunks)}")
    return recording_id


def _children_peak_rss_mib() -> float:
    """VmHWM summed over every descendant process (Azurite's Node): its peak since it started."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    mine: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - mine
        mine |= frontier
    total_kib = 0
    for pid in mine:
        with contextlib.suppress(OSError):
            found = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
            total_kib += int(found[1]) if found else 0
    return round(total_kib / 1024, 1)


def run_case(stack: dict[str, Any], recordings: int, chunks: int) -> dict[str, Any]:
    from devtools.acs_emulator.events import build_file_status_event
    from shared.recording_ids import archive_instance_id

    emulator, engine, host = stack["emulator"], stack["engine"], stack["host"]
    ids = [_recording(emulator, chunks) for _ in range(recordings)]
    bodies = [
        json.dumps([build_file_status_event(emulator.recording_files(rid), emulator.event_topic)])
        for rid in ids
    ]
    total_bytes = sum(c.content_length for rid in ids for c in emulator.recording_files(rid).chunks)
    url = host.event_grid_url(EVENT_FUNCTION)
    started = time.perf_counter()
    with ThreadPoolExecutor(max(1, recordings)) as pool:
        answers = list(
            pool.map(
                lambda body: (
                    requests.post(
                        url, data=body, headers={"aeg-event-type": "Notification"}, timeout=60
                    ).status_code
                ),
                bodies,
            )
        )
    if answers != [200] * recordings:
        raise RuntimeError(f"deliveries answered {answers}")
    timeout = float(os.environ.get("FANOUT_TIMEOUT", "600"))
    statuses = [engine.wait_for(archive_instance_id(rid), timeout=timeout) for rid in ids]
    seconds = time.perf_counter() - started
    failed = [s["runtimeStatus"] for s in statuses if s["runtimeStatus"] != "Completed"]
    if failed:
        raise RuntimeError(f"archives ended {failed}")
    all_chunks = recordings * chunks
    return {
        "recordings": recordings,
        "chunksEach": chunks,
        "chunks": all_chunks,
        "bytes": total_bytes,
        "seconds": round(seconds, 3),
        "mbPerS": round(total_bytes / seconds / 1e6, 2),
        "msPerChunk": round(seconds / all_chunks * 1000, 1),
        "peakRssMib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "azuritePeakRssMib": _children_peak_rss_mib(),
    }


def measure(cases: tuple[tuple[int, int], ...], repeats: int) -> list[dict[str, Any]]:
    results = []
    with local_stack() as stack:
        run_case(stack, 1, 1)  # warm-up: imports, connections, tables
        for recordings, chunks in cases:
            runs = [run_case(stack, recordings, chunks) for _ in range(repeats)]
            best = dict(runs[0])
            best["seconds"] = statistics.median(r["seconds"] for r in runs)
            best["msPerChunk"] = round(best["seconds"] / best["chunks"] * 1000, 1)
            best["mbPerS"] = round(best["bytes"] / best["seconds"] / 1e6, 2)
            best["secondsRuns"] = [r["seconds"] for r in runs]
            best["peakRssMib"] = max(r["peakRssMib"] for r in runs)
            best["azuritePeakRssMib"] = max(r["azuritePeakRssMib"] for r in runs)
            results.append(best)
            print(
                f"  {recordings:>3} x {chunks:>4} chunks: {best['seconds']:8.2f} s"
                f"  {best['msPerChunk']:7.1f} ms/chunk  {best['mbPerS']:6.2f} MB/s"
                f"  peak RSS {best['peakRssMib']} MiB + Azurite {best['azuritePeakRssMib']} MiB",
                flush=True,
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="1 / 32 / 256 chunks and 20 x 8 (default: quick)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "fanout.json")
    args = parser.parse_args(argv)
    cases = FULL if args.full else QUICK
    started = time.time()
    results = measure(cases, repeats=1 if not args.full else 2)
    write_json(
        args.out,
        {
            "benchmark": "fanout",
            "mode": "full" if args.full else "quick",
            "machine": describe(),
            "started": started,
            "chunkMediaBytes": CHUNK_MEDIA_BYTES,
            "batchChunks": BATCH_CHUNKS,  # the orchestration's shape this run measured
            "batchesAtOnce": BATCHES_AT_ONCE,
            "cases": results,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
