"""The app's OpenTelemetry written to files, for the local host's processes (never deployed).

Where Azure would export to Application Insights, a local run with `DEVHOST_TELEMETRY_DIR` set writes
what the app emits (shared/telemetry.py's spans and metrics, the lifecycle records, and the Azure SDKs'
own spans, as the Azure Monitor distro would enable them) as the OpenTelemetry SDK's console exporters
render them, one file per kind and process: the chaos and hostile suites scan them for secrets like
every other capture.
"""

from __future__ import annotations

import atexit
import logging
import os
from pathlib import Path
from typing import TextIO


def install(directory: Path) -> None:
    """SDK providers with file exporters in `directory`, handed to shared.telemetry."""
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import ConsoleLogExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    from shared import telemetry

    directory.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()

    def sink(kind: str) -> TextIO:
        return (directory / f"{kind}-{pid}.txt").open("a", encoding="utf-8", buffering=1)

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sink("spans"))))
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(out=sink("metrics")), export_interval_millis=1000
    )
    meter_provider = MeterProvider(metric_readers=[reader])
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogExporter(out=sink("logs"))))
    lifecycle = logging.getLogger(telemetry.LIFECYCLE_LOGGER)
    lifecycle.addHandler(LoggingHandler(logger_provider=logger_provider))
    lifecycle.setLevel(logging.INFO)
    telemetry.install(tracer_provider, meter_provider)
    enable_azure_sdk_tracing(tracer_provider)
    atexit.register(meter_provider.shutdown)


def enable_azure_sdk_tracing(tracer_provider: object) -> None:
    """azure-core's spans (one per SDK call and HTTP request), as the distro turns them on."""
    from azure.core.settings import settings
    from opentelemetry import trace

    trace.set_tracer_provider(tracer_provider)  # type: ignore[arg-type]
    settings.tracing_implementation = "opentelemetry"
