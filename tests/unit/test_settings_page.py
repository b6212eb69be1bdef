"""docs/settings.md's table names every setting the app reads, and only those: the ones shared/settings.py
reads (found by the same syntax-tree scan the template's test uses) and the timers' `%SETTING%` schedules.
A setting added to the code stays undocumented only until this test runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.test_infra_settings import code_reads

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "settings.md"
SCHEDULE = re.compile(r'"%(?P<name>[A-Z_]+)%"')


def timer_settings() -> set[str]:
    return {
        found["name"]
        for path in (REPO / "blueprints").glob("*.py")
        for found in SCHEDULE.finditer(path.read_text(encoding="utf-8"))
    }


def documented() -> set[str]:
    rows = (line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("| `"))
    return {name for row in rows for name in re.findall(r"`([A-Za-z_]+)`", row.split("|")[1])}


def test_the_scans_find_settings_of_both_kinds() -> None:
    assert "ACS_ENDPOINT" in code_reads()
    assert "ARCHIVE_WATCH_SCHEDULE" in timer_settings()


def test_every_setting_the_app_reads_is_documented() -> None:
    assert sorted((code_reads() | timer_settings()) - documented()) == []


def test_the_page_documents_no_setting_the_app_does_not_read() -> None:
    assert sorted(documented() - code_reads() - timer_settings()) == []
