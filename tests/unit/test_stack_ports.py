"""`make run` with a port taken: one line naming the port and the setting to change, exit 2, no start."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.stack import __main__ as stack

REPO = Path(__file__).resolve().parents[2]
# The launcher, with Azurite replaced by a failure: a port check that came too late would show.
LAUNCHER = (
    "import sys\n"
    "from devtools.stack import __main__ as stack\n"
    "def _never():\n"
    "    raise AssertionError('Azurite started although a port is taken')\n"
    "stack.running_azurite = _never\n"
    "sys.exit(stack.main())\n"
)


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_azurite(monkeypatch: pytest.MonkeyPatch) -> None:
    def never() -> None:
        raise AssertionError("Azurite started although a port is taken")

    monkeypatch.setattr(stack, "running_azurite", never)


def test_launcher_names_the_taken_app_port_and_exits_2(taken_port: int) -> None:
    env = {name: value for name, value in os.environ.items() if name not in {"USE_FUNC", "ACS_EMULATOR_PORT"}}
    env["PORT"] = str(taken_port)
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER], cwd=REPO, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {taken_port} is already in use" in lines[0]
    assert "the function app" in lines[0]
    assert "`PORT=" in lines[0]
    assert "make run" in lines[0]
    assert result.stdout == ""


def test_taken_emulator_port_names_acs_emulator_port(
    taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.main(["--port", str(_free()), "--emulator-port", str(taken_port)]) == 2
    error = capsys.readouterr().err.strip()
    assert f"port {taken_port} is already in use" in error
    assert "ACS_EMULATOR_PORT=0 make run" in error
    assert "\n" not in error


def test_same_port_for_both_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    port = str(_free())
    assert stack.main(["--port", port, "--emulator-port", port]) == 2
    assert "PORT and ACS_EMULATOR_PORT are both" in capsys.readouterr().err


def test_suggested_port_is_free(taken_port: int) -> None:
    message = stack.port_taken_message(stack.APP, taken_port)
    suggested = int(message.split("`PORT=")[1].split()[0])
    assert suggested != taken_port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", suggested))


def test_a_bind_that_loses_the_race_becomes_the_same_message() -> None:
    taken = pytest.raises(stack.PortTakenError, match=r"port 7071 is already in use.*`PORT=")
    with taken, stack.binding(stack.APP, 7071):
        raise OSError(errno.EADDRINUSE, "Address already in use")
    with pytest.raises(PermissionError), stack.binding(stack.APP, 80):  # not ours to explain
        raise PermissionError(errno.EACCES, "Permission denied")


def _free() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
