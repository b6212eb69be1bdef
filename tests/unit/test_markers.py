"""Every test is marked by its folder (tests/conftest.py), so `pytest -m unit` is exactly tests/unit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_unit_marker_is_exactly_the_unit_folder() -> None:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    collected = subprocess.run(
        [*command, "-m", "not unit", "tests/unit", "tests/e2e"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert collected.returncode == 0, collected.stdout + collected.stderr
    node_ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert node_ids, collected.stdout
    assert all(node_id.startswith("tests/e2e/") for node_id in node_ids), (
        collected.stdout
    )  # no unit test left
    assert "deselected" in collected.stdout  # ...because every one of them carries `unit`
