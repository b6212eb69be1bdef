"""README's "Try it" works as written: the block between its markers, run by bash against a real
`make run`, records a call, sees it archived, downloads chunk 0 with the SHA-256 the manifest names, and
lists the recording's lifecycle events in order. A README whose commands drift from the product fails here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.devtools.stack.make_run import REPO, MakeRun, make_environment

BLOCK = re.compile(r"<!-- try it:[^\n]*-->\n```bash\n(?P<script>.*?)```\n<!-- end of try it -->", re.S)
SHA256 = re.compile(r'"sha256": "(?P<manifest>[0-9a-f]{64})"')
DOWNLOADED = re.compile(r"^(?P<sha>[0-9a-f]{64})  /tmp/chunk-0\.wav$", re.M)
BASH = shutil.which("bash") or "/bin/bash"


def try_it_script() -> str:
    found = BLOCK.search((REPO / "README.md").read_text(encoding="utf-8"))
    assert found, "README.md has no Try it block between its markers"
    return found["script"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[MakeRun]:
    started = MakeRun(tmp_path / "state")
    try:
        yield started.start()
    finally:
        started.kill_all()


def test_the_readme_try_it_block_archives_a_call_and_downloads_its_verified_chunk(stack: MakeRun) -> None:
    env = make_environment(stack.state_dir, PORT=str(stack.port))
    result = subprocess.run(
        [BASH, "-euo", "pipefail", "-c", try_it_script()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout
    assert result.returncode == 0, f"{output}\n{result.stderr}"
    assert output.startswith('"active"\n'), output
    manifest, downloaded = SHA256.search(output), DOWNLOADED.search(output)
    assert manifest, output
    assert downloaded, output
    assert downloaded["sha"] == manifest["manifest"]
    assert output.rstrip().splitlines()[-4:] == [
        "1 CallRecording.Recording.Started",
        "2 CallRecording.Recording.Stopped",
        "3 CallRecording.Archive.Started",
        "4 CallRecording.Archive.Completed",
    ], output
