"""The retention timer's days and the storage lifecycle rule's delete days have one source: the template
passes `archiveDeleteAfterDays` both to the lifecycle rule and into the app setting the timer reads."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from shared.archive.model import ArchiveSummary
from shared.archive.retention import is_due
from shared.archive.states import ArchiveStatus
from tests.unit.test_infra_bicep import INFRA

MAIN = (INFRA / "main.bicep").read_text()
FUNCTION_APP = (INFRA / "modules" / "function-app.bicep").read_text()
ARCHIVE_STORAGE = (INFRA / "modules" / "archive-storage.bicep").read_text()
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def passed_as(parameter: str) -> str:
    (value,) = re.findall(rf"^\s*{parameter}:\s*(\w+)", MAIN, re.MULTILINE)
    return value


def test_the_lifecycle_rule_and_the_retention_setting_take_the_same_parameter() -> None:
    assert passed_as("deleteAfterDays") == passed_as("archiveRetentionDays") == "archiveDeleteAfterDays"


def test_the_app_setting_is_the_parameter_the_template_passes() -> None:
    assert re.search(
        r"^\s*ARCHIVE_RETENTION_DAYS:\s*string\(archiveRetentionDays\)\s*$", FUNCTION_APP, re.MULTILINE
    )


def test_the_lifecycle_rule_deletes_after_those_days() -> None:
    assert re.search(r"delete:\s*\{\s*daysAfterCreationGreaterThan:\s*deleteAfterDays\s*\}", ARCHIVE_STORAGE)


def test_zero_days_means_never_on_both_sides() -> None:
    assert "deleteAfterDays > 0 ?" in ARCHIVE_STORAGE
    from shared.settings import Settings

    env = {
        "ACS_CONNECTION_STRING": "endpoint=https://a.example/;accesskey=c2VjcmV0",
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    }
    assert Settings.from_env(env).retention_days == 0


def summary(archived_at: datetime) -> ArchiveSummary:
    return ArchiveSummary(
        status=ArchiveStatus.COMPLETED,
        prefix="2026/11/24/key",
        manifest_blob_name="2026/11/24/key/manifest.json",
        container="recordings",
        chunks=1,
        bytes=1,
        source_deletion="notRequested",
        archived_at=archived_at.isoformat(),
    )


def test_an_archive_is_due_by_when_it_was_archived_as_the_rule_counts_blob_creation() -> None:
    cutoff = NOW - timedelta(days=90)
    assert not is_due(summary(cutoff + timedelta(hours=1)), cutoff)
    assert is_due(summary(cutoff - timedelta(seconds=1)), cutoff)
