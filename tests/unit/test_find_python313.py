"""devtools/find_python313.sh finds a Python 3.13 or gets one, else stops with one line saying what
to install, never a traceback. The real routes download (uv: GitHub; pyenv: python.org; apt: the
distribution's mirror); here they are stand-ins on a PATH without this machine's 3.13.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "devtools" / "find_python313.sh"
PYTHON313 = REPO / ".venv-worker" / "bin" / "python"  # the Python 3.13 `make` found for the worker


def stand_in(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(0o755)


def run(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """The script with only stand-ins and /usr/bin:/bin on the PATH: no pyenv, no installed 3.13."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    stand_in(bin_dir, "apt-cache", "exit 100\n")  # Debian 12, Ubuntu 22.04/24.04: no python3.13 package
    stand_in(bin_dir, "apt-get", "exit 0\n")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYENV_ROOT": str(tmp_path / "no-pyenv"),
        "UV_HOME": str(tmp_path / "uv"),
        **environ,
    }
    return subprocess.run(
        ["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def no_python313_here() -> None:
    for directory in ("/usr/bin", "/bin"):
        assert not Path(directory, "python3.13").exists(), "this machine has a python3.13 on the bare PATH"


def test_with_no_way_to_get_one_it_says_what_to_install_in_one_line(
    tmp_path: Path, no_python313_here: None
) -> None:
    uv = tmp_path / "bin"
    uv.mkdir()
    stand_in(
        uv, "uv", 'case "$1 $2" in "python find") exit 2;; *) echo "download failed" >&2; exit 2;; esac\n'
    )
    found = run(tmp_path)
    assert (found.returncode, found.stdout) == (1, "")
    last = found.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "error: the Azure Functions Python worker needs Python 3.13 and none could be found"
    )
    assert "uv python install 3.13 (its download failed)" in last
    assert "pyenv (not installed)" in last
    assert "set PYTHON313=/path/to/python3.13" in last
    assert "Traceback" not in found.stderr


def test_a_python_uv_installs_is_the_one_printed(tmp_path: Path, no_python313_here: None) -> None:
    assert PYTHON313.exists(), "run `make setup` first"
    installed = tmp_path / "installed"
    uv = tmp_path / "bin"
    uv.mkdir()
    stand_in(
        uv,
        "uv",
        f'case "$1 $2" in\n'
        f'  "python find") [ -e {installed} ] && echo {PYTHON313} && exit 0; exit 2;;\n'
        f'  "python install") touch {installed}; exit 0;;\n'
        f"esac\nexit 2\n",
    )
    found = run(tmp_path)
    assert (found.returncode, found.stdout.strip()) == (0, str(PYTHON313))
    assert installed.exists()


def test_a_python313_given_is_used_as_it_is(tmp_path: Path) -> None:
    found = run(tmp_path, PYTHON313=str(PYTHON313))
    assert (found.returncode, found.stdout.strip()) == (0, str(PYTHON313))


def test_a_python_that_is_not_313_is_not_taken(tmp_path: Path, no_python313_here: None) -> None:
    uv = tmp_path / "bin"
    uv.mkdir()
    stand_in(uv, "uv", "exit 2\n")
    found = run(tmp_path, PYTHON313=os.path.realpath("/usr/bin/python3"))
    assert found.returncode == 1
