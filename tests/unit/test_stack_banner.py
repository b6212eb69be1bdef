"""`make run` prints the master key beside the function key: Core Tools' way to run a non-HTTP
function by hand (`POST /admin/functions/<name>`) needs it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from devtools.stack.__main__ import _print_banner


def test_the_banner_names_the_function_key_and_the_master_key(capsys: pytest.CaptureFixture[str]) -> None:
    host = SimpleNamespace(
        base_url="http://127.0.0.1:7071",
        function_key="the-function-key",
        master_key="the-master-key",
        describe=lambda: ["Functions:"],
    )
    emulator = SimpleNamespace(endpoint="https://127.0.0.1:8443", ca_pem_path="/tmp/ca.pem")
    _print_banner(host, emulator, 10000, 10002)  # type: ignore[arg-type]
    line = next(line for line in capsys.readouterr().out.splitlines() if "function app" in line)
    assert "function key: the-function-key" in line
    assert "master key: the-master-key" in line
