"""Where `make run` keeps its state for `make demo`: a file per port, each stack touching only its own, a
file whose process is gone recognised as stale (the processes themselves: tests/devtools/stack)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.stack.state import NoStackError, choose_stack, remove_state, write_state


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    return tmp_path


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_state_file_of_a_process_that_is_gone_is_stale_and_removed(state_dir: Path) -> None:
    (state_dir / "stack-7071.json").write_text(json.dumps({"api": "x", "pid": dead_pid()}))
    with pytest.raises(NoStackError, match=r"^The local stack is not running: start it with `make run`"):
        choose_stack(None)
    assert not (state_dir / "stack-7071.json").exists()


def test_each_stack_writes_and_removes_only_its_own_file(state_dir: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = int(listening.getsockname()[1])
        write_state(port, {"api": f"http://127.0.0.1:{port}/api"})
        (state_dir / "stack-1.json").write_text(json.dumps({"pid": os.getppid()}))  # another's
        assert choose_stack(None).port == port  # port 1 answers nothing: not a running stack
        remove_state(1)
        assert (state_dir / "stack-1.json").exists(), "removed another process's state"
        remove_state(port)
    assert not (state_dir / f"stack-{port}.json").exists()
