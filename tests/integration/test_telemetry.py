"""The exported telemetry of an archive, through the OpenTelemetry SDK's in-memory exporters: spans around
the ACS calls, the chunk transfers and the catalog writes, tied to the recording and the archive instance;
the metrics the template's alerts and workbook query (archives by outcome, latency, bytes, chunk time,
the counts needing attention); the lifecycle records; and nothing secret in any of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from devtools.event_grid import LocalTopic
from devtools.telemetry_files import enable_azure_sdk_tracing
from shared import telemetry
from shared.archive.watch import watch_archives
from shared.events.publisher import drained
from shared.recording_ids import archive_instance_id
from shared.settings import current_settings
from tests.support.archive import archived, record
from tests.support.secret_scan import exported_telemetry, scan_all


@dataclass
class Exported:
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    logs: InMemoryLogRecordExporter

    def metric_points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        found: dict[str, list[Any]] = {}
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found


@pytest.fixture
def exported() -> Iterator[Exported]:
    """The app's telemetry into in-memory exporters, the Azure SDKs' spans included (as the distro does)."""
    from azure.core.settings import settings

    spans, reader, logs = InMemorySpanExporter(), InMemoryMetricReader(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    handler = LoggingHandler(logger_provider=logger_provider)
    lifecycle = logging.getLogger(telemetry.LIFECYCLE_LOGGER)
    lifecycle.addHandler(handler)
    level = lifecycle.level
    lifecycle.setLevel(logging.INFO)
    telemetry.install(tracer_provider, MeterProvider(metric_readers=[reader]))
    enable_azure_sdk_tracing(tracer_provider)
    yield Exported(spans, reader, logs)
    settings.tracing_implementation = None
    lifecycle.removeHandler(handler)
    lifecycle.setLevel(level)
    telemetry.uninstall()


def test_an_archive_exports_its_spans_metrics_and_records_and_no_secret(
    lifecycle_topic: LocalTopic,
    exported: Exported,
    host: DevHost,
    engine: DurableEngine,
    emulator: AcsEmulator,
) -> None:
    recording_id = record(emulator, seconds=2)
    assert archived(engine, recording_id)["runtimeStatus"] == "Completed"
    assert drained(30)
    watch_archives(current_settings(), datetime.now(UTC))
    instance = archive_instance_id(recording_id)
    chunks = emulator.recording_files(recording_id).chunks

    spans = exported.spans.get_finished_spans()
    by_name: dict[str, list[Any]] = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    for name in ("acs.start_recording", "acs.stop_recording", telemetry.CHUNK_SPAN, telemetry.CATALOG_WRITE):
        assert name in by_name, sorted(by_name)
    assert by_name["acs.stop_recording"][0].attributes[telemetry.RECORDING_ID] == recording_id
    chunk_spans = by_name[telemetry.CHUNK_SPAN]
    assert len(chunk_spans) == len(chunks)
    assert {
        (s.attributes[telemetry.RECORDING_ID], s.attributes[telemetry.INSTANCE_ID]) for s in chunk_spans
    } == {(recording_id, instance)}
    assert {s.attributes[telemetry.RECORDING_ID] for s in by_name[telemetry.CATALOG_WRITE]} == {recording_id}
    # the Azure SDKs' own spans sit under ours: the chunk's ranged downloads and blob writes
    children = [s for s in spans if s.parent and s.parent.span_id in {c.context.span_id for c in chunk_spans}]
    assert children

    points = exported.metric_points()
    assert {
        telemetry.ARCHIVES,
        telemetry.ARCHIVE_LATENCY,
        telemetry.BYTES_ARCHIVED,
        telemetry.CHUNK_TRANSFER,
    } <= set(points), sorted(points)
    assert telemetry.NEEDING_ATTENTION in points
    assert telemetry.EVENTS_PUBLISHED in points
    outcomes = {p.attributes["outcome"]: p.value for p in points[telemetry.ARCHIVES]}
    assert outcomes == {"Completed": 1}
    assert points[telemetry.ARCHIVE_LATENCY][0].count == 1
    assert sum(p.value for p in points[telemetry.BYTES_ARCHIVED]) == sum(c.content_length for c in chunks)
    assert sum(p.count for p in points[telemetry.CHUNK_TRANSFER]) == len(chunks)
    attention = {p.attributes["status"]: p.value for p in points[telemetry.NEEDING_ATTENTION]}
    assert set(attention) == {"Overdue", "Retrying", "Lost"}
    assert set(points) <= set(telemetry.METRICS)  # the names the template's queries are held to

    records = [log.log_record for log in exported.logs.get_finished_logs()]
    mine = [r for r in records if r.attributes.get(telemetry.RECORDING_ID) == recording_id]
    assert [r.attributes[telemetry.EVENT_TYPE] for r in mine] == [  # (Archive.Started: in the worker)
        "CallRecording.Recording.Started",
        "CallRecording.Recording.Stopped",
        "CallRecording.Archive.Completed",
    ]
    assert mine[-1].attributes[telemetry.LATENCY] >= 0
    assert set().union(*(r.attributes for r in mine)) <= {
        *telemetry.RECORD_ATTRIBUTES,
        "code.file.path",
        "code.function.name",
        "code.line.number",
    }

    captures = exported_telemetry(
        spans, exported.metrics.get_metrics_data(), exported.logs.get_finished_logs()
    )
    known = [emulator.access_key, emulator.identity.secret]
    assert scan_all(captures, known=known) == []


def test_without_the_setting_telemetry_is_off_and_not_imported() -> None:
    """(The OpenTelemetry *API* is imported anyway: azure-functions-durable imports its propagator.)"""
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('APPLICATIONINSIGHTS_CONNECTION_STRING', None)\n"
        "import function_app, sys\n"
        "from shared import telemetry\n"
        "with telemetry.span('x'): telemetry.record_chunk(1.0, 'archived', size=1)\n"
        "assert not telemetry.enabled()\n"
        "heavy = ('azure.monitor', 'opentelemetry.sdk', 'opentelemetry.instrumentation', 'azure.eventgrid')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
