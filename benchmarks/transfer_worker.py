"""One measured transfer in a fresh process: `python -m benchmarks.transfer_worker '<json spec>'`.

The parent (benchmarks.archive_throughput) owns the servers; this process only transfers, so its
peak RSS growth is the transfer's. Sequence: imports, a warm-up transfer of a tiny recording by the
same method (imports, TLS contexts and connection pools are then in place, but no range-sized
buffer has been allocated yet), reset the RSS high-water mark (`/proc/self/clear_refs` = 5), then
the measured transfer of every chunk in order; prints one JSON line with seconds and RSS.

Methods:
- `ours`: `shared.archive.transfer.archive_chunk` with the app's own clients (`shared.clients`), inside
  the chunk activity's telemetry (its span and metrics: no-ops unless `telemetry` is on; then the
  OpenTelemetry SDK records them and the Azure SDKs' spans, and serializes every span and metric for
  export inside the timed section, as an exporter would: `_Telemetry`).
- `seed`: one sequential `download_recording` per chunk streamed to a temp file, then one
  `upload_blob` of the file with the blob SDK's defaults (the quickstart's downloadToPath shape).
- `wire`: benchmarks.wire (no SDK, hand-signed requests).

`sink: "null"` replaces Azurite by a sink that discards the bytes (ours: a stand-in ContainerClient
handed to the real archive_chunk; seed: the download to the temp file only; wire: no PUTs), which
measures the download side alone - what differs between the methods when storage is not the limit.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import resource
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from devtools.loopback_dns import loopback_dns


def _status_kib(field: str) -> int:
    found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(found[1]) if found else 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _chunk_job(chunk: dict[str, Any]) -> Any:
    from shared.archive.model import ChunkJob

    return ChunkJob(
        index=int(chunk["index"]),
        document_id=chunk["documentId"],
        content_location=chunk["contentLocation"],
        metadata_location=chunk["metadataLocation"],
        delete_location=chunk["deleteLocation"],
        end_reason=chunk["endReason"],
    )


class _NullBlob:
    """Enough of BlobClient for archive_chunk: accepts blocks, remembers the commit, keeps no bytes."""

    def __init__(self) -> None:
        self.size = 0
        self.metadata: dict[str, str] | None = None

    def get_blob_properties(self) -> Any:
        from types import SimpleNamespace

        from azure.core.exceptions import ResourceNotFoundError

        if self.metadata is None:
            raise ResourceNotFoundError("not committed")
        return SimpleNamespace(size=self.size, metadata=self.metadata)

    def get_block_list(self, *args: Any, **kwargs: Any) -> Any:
        from azure.core.exceptions import ResourceNotFoundError

        raise ResourceNotFoundError("no blocks")

    def upload_blob(self, *args: Any, **kwargs: Any) -> None:
        return None

    def stage_block(self, block_id: str, data: Any, length: int | None = None, **kwargs: Any) -> None:
        self.size += len(data)

    def commit_block_list(self, blocks: Any, *, metadata: dict[str, str], **kwargs: Any) -> None:
        self.metadata = metadata


class _NullContainer:
    def __init__(self) -> None:
        self.blobs: dict[str, _NullBlob] = {}

    def get_blob_client(self, name: str) -> _NullBlob:
        return self.blobs.setdefault(name, _NullBlob())


class _Telemetry:
    """The app's telemetry switched on in this process: SDK providers whose exporters serialize each span
    and metric as an exporter must (then drop them: nothing leaves loopback), and the Azure SDKs' tracing."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        from devtools.telemetry_files import enable_azure_sdk_tracing
        from shared import telemetry

        class Serializing(SpanExporter):
            def export(self, spans: Any) -> SpanExportResult:
                for span in spans:
                    span.to_json()
                return SpanExportResult.SUCCESS

        self.devnull = open(os.devnull, "w")  # noqa: SIM115 - for the life of this process
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(BatchSpanProcessor(Serializing()))
        self.reader = PeriodicExportingMetricReader(ConsoleMetricExporter(out=self.devnull), 60_000)
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        telemetry.install(self.tracer_provider, self.meter_provider)
        enable_azure_sdk_tracing(self.tracer_provider)

    def flush(self) -> None:
        """Export what is pending (inside the timed section: its CPU counts)."""
        self.tracer_provider.force_flush()
        self.meter_provider.force_flush()


class Method:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.name: str = spec["method"]
        self.range_bytes = int(spec["rangeBytes"])
        self.in_flight = int(spec["inFlight"])
        self.container_name: str = spec["container"]
        self.null_sink = spec.get("sink") == "null"
        self.digests: list[str] = []  # null sink: the hash of what was read, for verification
        env = {
            "ACS_CONNECTION_STRING": spec["acsConnectionString"],
            "ARCHIVE_STORAGE_CONNECTION_STRING": spec["storageConnectionString"],
            "ARCHIVE_CONTAINER": self.container_name,
        }
        self.env = env
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-seed-"))
        if self.name == "ours":
            self._setup_ours()
        elif self.name == "seed":
            self._setup_seed()
        elif self.name == "wire":
            self._setup_wire()
        else:
            raise ValueError(f"unknown method {self.name}")

    # -- ours -------------------------------------------------------------------------------------
    def _setup_ours(self) -> None:
        self.telemetry = _Telemetry() if self.spec.get("telemetry") else None
        from shared.archive.store import archive_container
        from shared.archive.transfer import TransferOptions
        from shared.clients import call_automation_client
        from shared.settings import Settings

        settings = Settings.from_env(self.env)
        self.container: Any = _NullContainer() if self.null_sink else archive_container(settings)
        self.acs = call_automation_client(settings.acs)
        single_put = int(self.spec.get("singlePutBytes", TransferOptions().single_put_bytes))
        self.options = TransferOptions(
            range_bytes=self.range_bytes, in_flight=self.in_flight, single_put_bytes=single_put
        )

    def _ours(self, chunk: dict[str, Any], prefix: str) -> str:
        from shared import telemetry
        from shared.archive.model import ChunkTask
        from shared.archive.transfer import archive_chunk

        task = ChunkTask(_chunk_job(chunk), prefix, None, "bench-recording")
        started = time.perf_counter()
        with telemetry.span(
            telemetry.CHUNK_SPAN, recording_id=task.recording_id, instance_id=task.instance_id
        ):
            archived = archive_chunk(
                task, acs=self.acs, container=self.container, options=self.options
            ).archived
        telemetry.record_chunk(time.perf_counter() - started, "archived", size=archived.size)
        if self.null_sink and prefix != "warmup":
            self.digests.append(archived.sha256)
        return archived.blob_name

    # -- seed -------------------------------------------------------------------------------------
    def _setup_seed(self) -> None:
        from azure.communication.callautomation import CallAutomationClient
        from azure.storage.blob import BlobServiceClient

        self.acs = CallAutomationClient.from_connection_string(self.env["ACS_CONNECTION_STRING"])
        service = BlobServiceClient.from_connection_string(self.env["ARCHIVE_STORAGE_CONNECTION_STRING"])
        self.container = service.get_container_client(self.container_name)
        if not self.null_sink:
            with contextlib.suppress(Exception):
                self.container.create_container()

    def _seed(self, chunk: dict[str, Any], prefix: str) -> str:
        path = self.tmp / f"{chunk['documentId']}.wav"
        stream: Any = self.acs.download_recording(chunk["contentLocation"])
        with path.open("wb") as file:
            for piece in stream.iter_bytes():
                file.write(piece)
        name = f"{prefix}/{chunk['index']:03d}-{chunk['documentId']}.wav"
        if self.null_sink:
            return str(path)  # hashed after the timed section, then deleted with the temp dir
        with path.open("rb") as file:
            self.container.get_blob_client(name).upload_blob(file)
        path.unlink()
        return name

    # -- wire -------------------------------------------------------------------------------------
    def _setup_wire(self) -> None:
        from benchmarks import wire

        endpoint = self.env["ACS_CONNECTION_STRING"].split("endpoint=", 1)[1].split(";", 1)[0]
        key = self.env["ACS_CONNECTION_STRING"].split("accesskey=", 1)[1]
        host = endpoint.removeprefix("https://").rstrip("/")
        self.recording = wire.Recording(
            host, key, ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
        )
        self.storage = wire.Storage.from_connection_string(self.env["ARCHIVE_STORAGE_CONNECTION_STRING"])
        if self.null_sink:
            return
        connection = self.storage.connect()
        path, headers = self.storage.signed(
            "PUT", f"{self.storage.path_prefix}/{self.container_name}", {"restype": "container"}, 0
        )
        connection.request("PUT", path, headers=headers)
        status = connection.getresponse()
        status.read()
        connection.close()
        if status.status not in (201, 409):
            raise RuntimeError(f"create container answered {status.status}")

    def _wire(self, chunk: dict[str, Any], prefix: str) -> str:
        from benchmarks import wire

        name = f"{prefix}/{chunk['index']:03d}-{chunk['documentId']}.wav"
        wire.transfer(
            self.recording,
            self.storage,
            chunk["contentLocation"],
            int(chunk["contentLength"]),
            self.container_name,
            name,
            range_bytes=self.range_bytes,
            in_flight=self.in_flight,
            sink=not self.null_sink,
        )
        return name

    def run(self, chunk: dict[str, Any], prefix: str) -> str:
        if self.name == "ours":
            return self._ours(chunk, prefix)
        if self.name == "seed":
            return self._seed(chunk, prefix)
        return self._wire(chunk, prefix)

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _file_sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as file:
        while piece := file.read(1024 * 1024):
            digest.update(piece)
    return digest.hexdigest()


def main() -> int:
    spec = json.loads(sys.argv[1])
    method = Method(spec)
    try:
        with loopback_dns("127.0.0.1", https_port=int(spec["emulatorPort"])):
            for chunk in spec["warmup"]:
                method.run(chunk, "warmup")
            gc.collect()
            baseline_rss = _status_kib("VmRSS")
            maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            reset = _reset_peak()
            started, cpu_started = time.perf_counter(), time.process_time()
            blobs = [method.run(chunk, spec["prefix"]) for chunk in spec["chunks"]]
            exporting: _Telemetry | None = getattr(method, "telemetry", None)
            if exporting is not None:
                exporting.flush()
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started  # all threads of this process
            peak = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            growth = peak - (baseline_rss if reset else maxrss_before)
            digests = method.digests
            if method.null_sink and method.name == "seed":
                digests = [_file_sha256(Path(blob)) for blob in blobs]
    finally:
        method.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpuSeconds": cpu_seconds,
                "blobs": blobs,
                "digests": digests,
                "baselineRssKib": baseline_rss,
                "peakRssKib": peak,
                "rssGrowthKib": growth,
                "peakSource": "VmHWM after clear_refs" if reset else "ru_maxrss",
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
