"""The scanner the hostile and chaos suites trust to say "no credential leaked"."""

from __future__ import annotations

from tests.support.secret_scan import find_secrets, scan_all

ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFMGUsxY8yDtrNaVaLng=="


def test_a_known_secret_value_is_found_wherever_it_appears() -> None:
    findings = find_secrets(f"x {ACCOUNT_KEY} y {ACCOUNT_KEY}", source="host.log", known=[ACCOUNT_KEY])

    assert [finding.kind for finding in findings].count("known secret value") == 2


def test_a_connection_string_account_key_is_found_by_its_shape() -> None:
    text = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"

    assert [finding.kind for finding in find_secrets(text, source="log")] == [
        "account key in a connection string"
    ]


def test_an_acs_access_key_is_found_by_its_shape() -> None:
    text = "endpoint=https://x.communication.azure.com/;accesskey=c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"

    assert [finding.kind for finding in find_secrets(text, source="log")] == [
        "ACS access key in a connection string"
    ]


def test_a_sas_signature_is_found() -> None:
    text = "https://a.blob.core.windows.net/c/b?sv=2025-01-05&sr=b&sig=abcdEFGH1234%2Bxyz%3D"

    assert [finding.kind for finding in find_secrets(text, source="log")] == ["SAS signature"]


def test_a_bearer_token_and_its_jwt_are_both_found() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAiLCJleHAiOjF9.c2lnbmF0dXJlc2lnbmF0dXJl"

    kinds = {finding.kind for finding in find_secrets(f"Authorization: Bearer {jwt}", source="log")}

    assert kinds == {"bearer token", "JSON web token"}


def test_a_function_key_in_a_url_is_found() -> None:
    text = "POST /api/recordings?code=Zm9vYmFyYmF6cXV4cXV1eA== 202"

    assert [finding.kind for finding in find_secrets(text, source="log")] == ["function key in a URL"]


def test_ordinary_log_lines_have_no_findings() -> None:
    text = (
        "Archived chunk 3 of recording aHR0cHM6Ly9leGFtcGxl (8388608 bytes, sha256 9f86d081884c7d65) "
        "Authorization header redacted; code=REDACTED"
    )

    assert find_secrets(text, source="log", known=["short", ACCOUNT_KEY]) == []


def test_a_finding_names_the_place_but_never_the_secret() -> None:
    (finding,) = scan_all([("response 17", f"key {ACCOUNT_KEY}")], known=[ACCOUNT_KEY])

    assert str(finding) == "known secret value in response 17 at offset 4"
    assert ACCOUNT_KEY not in str(finding)


def test_exported_telemetry_is_scanned_attributes_events_and_records_alike() -> None:
    """A SAS in a span attribute, a key in a span event, a token in a log record: each is found."""
    import logging

    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.support.secret_scan import exported_telemetry

    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    with tracer_provider.get_tracer("t").start_as_current_span(
        "download",
        attributes={"url.full": "https://a.blob.core.windows.net/c/b?sv=1&sig=abcdefabcdef0123456789"},
    ) as span:
        span.add_event("retry", {"note": "AccountKey=" + "k" * 40})
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    logger = logging.getLogger("test.secret_scan.telemetry")
    logger.addHandler(LoggingHandler(logger_provider=logger_provider))
    logger.warning("sent", extra={"header": "Bearer " + "t" * 30})
    captures = exported_telemetry(spans.get_finished_spans(), None, logs.get_finished_logs())
    kinds = {finding.kind for finding in scan_all(captures)}
    assert kinds == {"SAS signature", "account key in a connection string", "bearer token"}
