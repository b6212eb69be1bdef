"""`make run` stopped every way a user stops it, for real: whatever the way, make, the stack and Azurite
end, every port is free again, and neither the state file nor the emulator's temporary CA is left; two
stacks side by side keep their own state, and `make demo` finds the right one or says in one line why not.

Each test starts the real `make run` (about 4 s here) as a terminal would run it: make in a session and
process group of its own.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest

from tests.devtools.stack.make_run import MAKE, REPO, MakeRun, make_environment


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def stacks(state_dir: Path) -> Iterator[list[MakeRun]]:
    """Started stacks, killed whatever a test leaves running."""
    started: list[MakeRun] = []
    yield started
    for stack in started:
        stack.kill_all()


def start(stacks: list[MakeRun], state_dir: Path, *, terminal: bool = False) -> MakeRun:
    stack = MakeRun(state_dir, terminal=terminal)
    stacks.append(stack)
    return stack.start()


def assert_stopped_cleanly(stack: MakeRun, *, said: bool = True) -> None:
    stack.wait_stopped()
    assert stack.leftovers() == [], stack.text
    assert "Traceback" not in stack.text, stack.text
    if said:
        assert "Stopped: the function app, the ACS emulator and Azurite are down." in stack.text, stack.text


def test_ctrl_c_stops_all_of_it(stacks: list[MakeRun], state_dir: Path) -> None:
    stack = start(stacks, state_dir)
    assert stack.state_file.exists()
    os.killpg(stack.process.pid, signal.SIGINT)  # what the terminal sends its foreground job
    assert_stopped_cleanly(stack)


def test_sigterm_to_make_stops_all_of_it(stacks: list[MakeRun], state_dir: Path) -> None:
    stack = start(stacks, state_dir)
    os.kill(stack.process.pid, signal.SIGTERM)
    assert_stopped_cleanly(stack)


def test_sigint_to_make_alone_stops_all_of_it(stacks: list[MakeRun], state_dir: Path) -> None:
    """make does not forward SIGINT: it waits for its child, which used to run on forever."""
    stack = start(stacks, state_dir)
    os.kill(stack.process.pid, signal.SIGINT)
    assert_stopped_cleanly(stack)
    assert "make received SIGINT" in stack.text


def test_sigterm_to_the_stack_process_stops_all_of_it(stacks: list[MakeRun], state_dir: Path) -> None:
    stack = start(stacks, state_dir)
    os.kill(stack.stack_pid, signal.SIGTERM)
    assert_stopped_cleanly(stack)


def test_a_closed_terminal_stops_all_of_it(stacks: list[MakeRun], state_dir: Path) -> None:
    """SIGHUP, with the terminal gone: the stack must still clean up though it can no longer print."""
    stack = start(stacks, state_dir, terminal=True)
    stack.hang_up_terminal()
    assert_stopped_cleanly(stack, said=False)


def demo(state_dir: Path, port: int | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = make_environment(state_dir, **({"PORT": str(port)} if port else {}))
    if port is None:
        env.pop("PORT", None)
    return subprocess.run(
        [MAKE, "--no-print-directory", "demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The demo's answer when it cannot run: exit 1 and one line of its own (make adds its own after)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    ours = [line for line in result.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1, result.stderr
    return ours[0]


def test_a_stack_killed_outright_takes_azurite_with_it_and_demo_says_it_is_not_running(
    stacks: list[MakeRun], state_dir: Path
) -> None:
    """SIGKILL gives the stack no chance to clean up: the kernel ends Azurite, and the demo recognises
    the state file left behind as stale (it used to print a ConnectionError traceback)."""
    stack = start(stacks, state_dir)
    os.kill(stack.stack_pid, signal.SIGKILL)
    stack.wait_stopped()
    assert [line for line in stack.leftovers() if "process" in line or "port" in line] == []
    assert stack.state_file.exists()
    line = one_line(demo(state_dir))
    assert line == "The local stack is not running: start it with `make run` (in another terminal)."
    assert not stack.state_file.exists()


def test_two_stacks_side_by_side_keep_their_own_state_and_demo_finds_the_right_one(
    stacks: list[MakeRun], state_dir: Path
) -> None:
    first, second = start(stacks, state_dir), start(stacks, state_dir)
    states = {run.port: json.loads(run.state_file.read_text()) for run in (first, second)}
    assert {port: state["api"] for port, state in states.items()} == {
        run.port: f"http://127.0.0.1:{run.port}/api" for run in (first, second)
    }
    line = one_line(demo(state_dir))
    assert f"running on ports {min(first.port, second.port)}, {max(first.port, second.port)}" in line
    assert "PORT=" in line
    chosen = demo(state_dir, second.port)
    assert chosen.returncode == 0, chosen.stderr
    assert "verified: the download's SHA-256 equals the manifest's" in chosen.stdout
    os.killpg(second.process.pid, signal.SIGINT)
    assert_stopped_cleanly(second)
    assert first.state_file.exists(), "stopping one stack deleted the other's state"
    only = demo(state_dir)  # the only one left, without PORT
    assert only.returncode == 0, only.stderr
    assert f"http://127.0.0.1:{first.port}" not in only.stderr
    assert "verified: the download's SHA-256 equals the manifest's" in only.stdout
    line = one_line(demo(state_dir, second.port))
    assert f"No local stack is running on port {second.port} (running on {first.port})" in line
    os.killpg(first.process.pid, signal.SIGINT)
    assert_stopped_cleanly(first)
    assert one_line(demo(state_dir)).startswith("The local stack is not running")


@pytest.mark.parametrize("ca", ["bundle", "missing"])
def test_a_stack_that_stops_answering_mid_demo_is_one_line(state_dir: Path, ca: str) -> None:
    """A state file naming a live process whose port accepts and then drops every connection (and, once,
    an emulator CA file that is gone)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def drop_every_connection() -> None:
            while True:
                try:
                    connection, _ = server.accept()
                except OSError:
                    return
                connection.close()

        threading.Thread(target=drop_every_connection, daemon=True).start()
        state_dir.mkdir(parents=True)
        (state_dir / f"stack-{port}.json").write_text(
            json.dumps(
                {
                    "api": f"http://127.0.0.1:{port}/api",
                    "functionKey": "k",
                    "emulator": f"https://127.0.0.1:{port}",
                    "emulatorCa": certifi.where() if ca == "bundle" else str(state_dir / "gone.pem"),
                    "storage": "",
                    "container": "recordings",
                    "port": port,
                    "pid": os.getpid(),
                }
            )
        )
        env = make_environment(state_dir, PORT=str(port))
        result = subprocess.run(
            [sys.executable, "-m", "devtools.demo"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    if ca == "bundle":
        assert lines[0] == (
            f"error: the local stack on port {port} stopped answering: "
            f"start it again (`PORT={port} make run`)"
        )
    else:
        assert lines[0].startswith(f"error: talking to the local stack on port {port} failed (OSError: ")
