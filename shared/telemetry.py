"""OpenTelemetry for operators: spans around ACS calls, chunk transfers and catalog writes, and the
archive's metrics, to Application Insights by the app's identity (docs/operations.md, Telemetry and alerts).

Off unless `APPLICATIONINSIGHTS_CONNECTION_STRING` is set: then every helper here is a no-op and
nothing of OpenTelemetry is imported (importing the Azure Monitor distro costs cold start:
benchmarks/README.md). On: the first helper called configures the distro once per worker, with the
identity's credential (Application Insights refuses keys here: DisableLocalAuth), Azure SDK tracing,
no HTTP-library instrumentations (they would trace every request a second time, with its URL), and
its log exporter on the one logger that carries lifecycle records (`LIFECYCLE_LOGGER`), so the
Functions host's own log shipping is not doubled. Tests and the local host `install()` SDK providers
of their own (in-memory or file exporters) instead.

What is emitted is named here once (the template's alert rules and workbook query these names, and
tests/unit/test_infra_monitoring.py holds them equal). No attribute, metric or record carries a key,
token, SAS or connection string: ids, counts, sizes, durations and statuses only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from shared.settings import current_telemetry_settings

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter, MeterProvider, _Gauge
    from opentelemetry.trace import Tracer, TracerProvider

_LOG = logging.getLogger(__name__)
SCOPE: Final = "acs-call-recording"

# Metrics (instrument names as they appear in Application Insights' customMetrics / AppMetrics).
ARCHIVES: Final = "recordings.archives"  # archives ended a round, by `outcome` (Completed, Retrying, Lost)
ARCHIVE_LATENCY: Final = "recordings.archive.latency"  # s, from the file event to Completed (verified)
BYTES_ARCHIVED: Final = "recordings.archive.bytes"  # bytes archived and verified
CHUNK_TRANSFER: Final = "recordings.chunk.transfer.duration"  # s per chunk, by `outcome`
NEEDING_ATTENTION: Final = "recordings.archives.attention"  # current count, by `status` (Overdue, ...)
EVENTS_PUBLISHED: Final = "recordings.lifecycle_events"  # events sent to the topic, by `outcome`
METRICS: Final = (
    ARCHIVES,
    ARCHIVE_LATENCY,
    BYTES_ARCHIVED,
    CHUNK_TRANSFER,
    NEEDING_ATTENTION,
    EVENTS_PUBLISHED,
)

# Spans, and the attributes that tie them to a recording.
ACS_CALL: Final = "acs"  # + "." + operation, e.g. "acs.start_recording"
CHUNK_SPAN: Final = "archive.chunk"
CATALOG_WRITE: Final = "catalog.write"
RECORDING_ID: Final = "recording.id"
INSTANCE_ID: Final = "archive.instance_id"

# Lifecycle records: one log record per lifecycle event, on this logger, with these attributes
# (Application Insights' traces / AppTraces, `Properties`): the workbook's lists read them.
LIFECYCLE_LOGGER: Final = "recordings.lifecycle"
EVENT_TYPE: Final = "event.type"
LATENCY: Final = "archive.latency_s"  # on a completed archive's record: the workbook's percentiles
RECORD_ATTRIBUTES: Final = (EVENT_TYPE, RECORDING_ID, INSTANCE_ID, LATENCY)
# The attributes metrics carry: an archive round's or a chunk's `outcome`, an attention count's `status`.
METRIC_ATTRIBUTES: Final = ("outcome", "status")


@dataclass(frozen=True)
class _Instruments:
    tracer: Tracer
    archives: Counter
    latency: Histogram
    bytes: Counter
    chunk_transfer: Histogram
    attention: _Gauge
    events: Counter


# The distro's own HTTP instrumentations are off: azure-core already traces each SDK call once.
_HTTP_INSTRUMENTATIONS: Final = (
    "django",
    "fastapi",
    "flask",
    "psycopg2",
    "requests",
    "urllib",
    "urllib3",
    "httpx",
)

_lock = threading.Lock()
_installed: _Instruments | None = None
_azure_monitor: _Instruments | None = None
_azure_monitor_tried = False


def install(tracer_provider: TracerProvider, meter_provider: MeterProvider) -> None:
    """Send everything to these SDK providers (tests: in-memory exporters; the local host: files)."""
    global _installed
    with _lock:
        _installed = _instruments(tracer_provider.get_tracer(SCOPE), meter_provider.get_meter(SCOPE))


def uninstall() -> None:
    global _installed
    with _lock:
        _installed = None


def enabled() -> bool:
    return _active() is not None


def _instruments(tracer: Tracer, meter: Meter) -> _Instruments:
    return _Instruments(
        tracer=tracer,
        archives=meter.create_counter(ARCHIVES, unit="{archive}", description="Archive rounds by outcome"),
        latency=meter.create_histogram(
            ARCHIVE_LATENCY, unit="s", description="From the file event to a verified archive"
        ),
        bytes=meter.create_counter(BYTES_ARCHIVED, unit="By", description="Bytes archived and verified"),
        chunk_transfer=meter.create_histogram(
            CHUNK_TRANSFER, unit="s", description="One chunk's transfer, by outcome"
        ),
        attention=meter.create_gauge(
            NEEDING_ATTENTION, unit="{recording}", description="Recordings Overdue, Retrying or Lost now"
        ),
        events=meter.create_counter(
            EVENTS_PUBLISHED, unit="{event}", description="Lifecycle events sent to the topic, by outcome"
        ),
    )


def _active() -> _Instruments | None:
    if _installed is not None:
        return _installed
    if _azure_monitor_tried:
        return _azure_monitor
    return _configure_azure_monitor()


def _configure_azure_monitor() -> _Instruments | None:
    """Once per worker: the Azure Monitor distro, when the setting asks for it."""
    global _azure_monitor, _azure_monitor_tried
    with _lock:
        if _azure_monitor_tried:
            return _azure_monitor
        _azure_monitor_tried = True
        try:
            settings = current_telemetry_settings()
        except Exception as error:  # a malformed setting: say so once, and run without telemetry
            _LOG.error("Telemetry is off: %s", error)
            return None
        if settings is None:
            return None
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry import configure_azure_monitor
        from opentelemetry import metrics, trace

        off = {"enabled": False}
        # Functions runs on App Service: without this the distro also runs its VM resource detector,
        # which waits on the VM metadata endpoint that App Service does not have.
        os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_app_service")
        configure_azure_monitor(
            connection_string=settings.connection_string,
            credential=ManagedIdentityCredential(client_id=settings.managed_identity_client_id),
            logger_name=LIFECYCLE_LOGGER,
            instrumentation_options=dict.fromkeys(_HTTP_INSTRUMENTATIONS, off),
            enable_live_metrics=False,
        )
        logging.getLogger(LIFECYCLE_LOGGER).setLevel(logging.INFO)  # whatever the root's level
        _azure_monitor = _instruments(trace.get_tracer(SCOPE), metrics.get_meter(SCOPE))
        return _azure_monitor


def _attributes(
    recording_id: str | None, instance_id: str | None, extra: Mapping[str, Any]
) -> dict[str, Any]:
    found: dict[str, Any] = {key: value for key, value in extra.items() if value is not None}
    if recording_id:
        found[RECORDING_ID] = recording_id
    if instance_id:
        found[INSTANCE_ID] = instance_id
    return found


@contextlib.contextmanager
def span(
    name: str, *, recording_id: str | None = None, instance_id: str | None = None, **attributes: Any
) -> Iterator[None]:
    """A span around one piece of work (an exception is recorded on it and re-raised); nothing when off."""
    active = _active()
    if active is None:
        yield
        return
    with active.tracer.start_as_current_span(
        name, attributes=_attributes(recording_id, instance_id, attributes)
    ):
        yield


def record_chunk(seconds: float, outcome: str, *, size: int = 0) -> None:
    """One chunk's transfer: its time, and its bytes once archived and verified."""
    active = _active()
    if active is None:
        return
    active.chunk_transfer.record(seconds, {"outcome": outcome})
    if size:
        active.bytes.add(size)


def record_archive_round(outcome: str, *, latency_s: float | None = None) -> None:
    """An archive's round ended (Completed, Retrying or Lost); a Completed one's latency."""
    active = _active()
    if active is None:
        return
    active.archives.add(1, {"outcome": outcome})
    if latency_s is not None:
        active.latency.record(max(latency_s, 0.0))


def record_attention(counts: Mapping[str, int]) -> None:
    """How many recordings are in each status that needs attention, now."""
    active = _active()
    if active is None:
        return
    for status, count in counts.items():
        active.attention.set(count, {"status": status})


def record_events_published(published: int, failed: int) -> None:
    active = _active()
    if active is None:
        return
    if published:
        active.events.add(published, {"outcome": "published"})
    if failed:
        active.events.add(failed, {"outcome": "failed"})


def lifecycle_record(
    event_type: str, recording_id: str, instance_id: str | None = None, latency_s: float | None = None
) -> None:
    """One lifecycle event's record: a log line always, a trace in Application Insights when on."""
    attributes: dict[str, Any] = {EVENT_TYPE: event_type, RECORDING_ID: recording_id}
    if instance_id:
        attributes[INSTANCE_ID] = instance_id
    if latency_s is not None:
        attributes[LATENCY] = latency_s
    logging.getLogger(LIFECYCLE_LOGGER).info("%s %s", event_type, recording_id, extra=attributes)
