"""Azurite never phones home: every way the project starts it passes `--disableTelemetry`.

Without the flag Azurite's telemetry client connects to 169.254.169.254 (the cloud metadata
address) on every start, from a machine that is meant to talk to loopback only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from devtools.azurite import AzuriteServer

REPO = Path(__file__).resolve().parents[2]
FLAG = "--disableTelemetry"
# A command line that starts Azurite: `npx azurite ...`, `azurite --...`, `node_modules/.bin/azurite`.
_LAUNCH = re.compile(r"(npx\s+azurite\b|\bazurite(?:-blob|-queue|-table)?\s+--|\.bin/azurite\b)")


@pytest.mark.parametrize(
    "server",
    [
        AzuriteServer(),
        AzuriteServer(Path("/tmp/azurite-data"), access_log=Path("/tmp/azurite.log")),
        AzuriteServer(tls=(Path("cert.pem"), Path("key.pem"))),
    ],
    ids=["in-memory", "on-disk-with-log", "tls"],
)
def test_every_azurite_the_tools_start_has_telemetry_disabled(server: AzuriteServer) -> None:
    assert FLAG in server._argv()


_NOT_TEXT = (".png", ".pyc", "package-lock.json")
_SKIPPED = {".git", "node_modules", ".work", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def _tracked_text_files() -> list[Path]:
    """The repository's own files (not the venvs, node_modules or caches), this one excepted: it
    names the patterns it looks for."""
    found = []
    for folder, subfolders, files in os.walk(REPO):
        subfolders[:] = [d for d in subfolders if d not in _SKIPPED and not d.startswith(".venv")]
        found += [Path(folder) / name for name in files if not name.endswith(_NOT_TEXT)]
    return [path for path in found if path != Path(__file__).resolve()]


def test_every_azurite_command_line_in_the_repository_has_telemetry_disabled() -> None:
    missing = []
    for path in _tracked_text_files():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(lines, 1):
            if _LAUNCH.search(line) and FLAG not in line:
                missing.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not missing, "Azurite started without --disableTelemetry:\n" + "\n".join(missing)


def test_only_devtools_azurite_launches_the_executable() -> None:
    """So the argv test above covers every launch from Python."""
    launchers = [
        str(path.relative_to(REPO))
        for path in _tracked_text_files()
        if path.suffix == ".py" and "node_modules" in path.read_text(encoding="utf-8")
    ]
    assert launchers == ["devtools/azurite.py"]
