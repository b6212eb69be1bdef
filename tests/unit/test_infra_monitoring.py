"""The template's alert rules and workbook query what the code emits: every metric name, attribute and
lifecycle event type in their KQL is one shared/telemetry.py or shared/events/catalogue.py names (the
integration suite's telemetry run then holds the code to those names: tests/integration/test_telemetry.py).
A renamed metric or event fails here instead of leaving an alert that never fires."""

from __future__ import annotations

import json
import re

from shared import telemetry
from shared.archive.states import NEEDS_ATTENTION
from shared.events.catalogue import EventType
from shared.events.observed import ROUND_OUTCOMES
from tests.unit.test_infra_bicep import INFRA, body, parsed, resources

OPERATIONS = INFRA / "modules" / "operations.bicep"
WORKBOOK = INFRA / "modules" / "workbook.json"


def alert_queries() -> dict[str, str]:
    variables = parsed(OPERATIONS)["variables"]
    return {name: spec["value"] for name, spec in variables.items() if name.endswith("Query")}


def workbook_queries() -> list[str]:
    items = json.loads(WORKBOOK.read_text())["items"]
    return [item["content"]["query"] for item in items if item["type"] == 3]


def every_query() -> list[str]:
    return [*alert_queries().values(), *workbook_queries()]


def metric_names(query: str) -> set[str]:
    return set(re.findall(r'Name == "([^"]+)"', query))


def attribute_keys(query: str) -> set[str]:
    return set(re.findall(r'Properties\["([^"]+)"\]', query))


def event_types(query: str) -> set[str]:
    return set(re.findall(r'"(CallRecording\.[A-Za-z.]+)"', query))


def test_there_are_alerts_for_a_lost_recording_an_overdue_archive_and_failing_archives() -> None:
    assert set(alert_queries()) == {"lostQuery", "overdueQuery", "failedQuery"}
    rules = [
        r for r in resources(OPERATIONS).values() if r["type"] == "Microsoft.Insights/scheduledQueryRules"
    ]
    assert len(rules) == 1  # one resource, looped over the three rules
    assert "actionGroup" in json.dumps(body(rules[0]))


def test_the_alerts_mail_the_optional_address() -> None:
    params = parsed(OPERATIONS)["parameters"]
    assert params["alertEmail"]["default"] == ""
    assert parsed(INFRA / "main.bicep")["parameters"]["alertEmail"]["default"] == ""


def test_every_metric_the_template_queries_is_one_the_code_emits() -> None:
    queried = set().union(*(metric_names(q) for q in every_query()))
    assert queried <= set(telemetry.METRICS), sorted(queried - set(telemetry.METRICS))
    # and the ones the issue asks to watch are all there
    assert {telemetry.ARCHIVES, telemetry.BYTES_ARCHIVED, telemetry.NEEDING_ATTENTION} <= queried


def test_every_lifecycle_event_the_template_queries_is_one_the_code_emits() -> None:
    queried = set().union(*(event_types(q) for q in every_query()))
    assert queried
    assert queried <= {kind.value for kind in EventType}


def test_every_attribute_the_template_queries_is_one_the_code_attaches() -> None:
    queried = set().union(*(attribute_keys(q) for q in every_query()))
    assert queried
    assert queried <= set(telemetry.RECORD_ATTRIBUTES) | set(telemetry.METRIC_ATTRIBUTES)


def test_the_outcomes_and_statuses_the_alerts_compare_with_are_the_ones_emitted() -> None:
    queries = alert_queries()
    outcomes = set(re.findall(r'"(Lost|Retrying|Completed)"', queries["lostQuery"] + queries["failedQuery"]))
    assert outcomes
    assert outcomes <= set(ROUND_OUTCOMES.values())
    statuses = set(re.findall(r'== "(\w+)"$', queries["overdueQuery"].strip().splitlines()[1]))
    assert statuses == {"Overdue"}
    assert statuses <= {status.value for status in NEEDS_ATTENTION}


def test_a_renamed_metric_would_be_caught() -> None:
    query = 'AppMetrics | where Name == "recordings.archive.renamed"'
    assert not metric_names(query) <= set(telemetry.METRICS)
