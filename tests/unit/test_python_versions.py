"""The app installs and loads on both Pythons the deploy template offers: 3.13 (the default, where
the e2e, chaos and hostile suites run it in the worker) and 3.11, which this suite runs on."""

from __future__ import annotations

import sys
from importlib.metadata import version

from devtools.devhost.worker_check import index_with_worker
from tests.support.functions import indexed_functions


def test_the_suite_loads_the_app_on_python_3_11_with_its_pins() -> None:
    # make test builds .venv with python3.11 (Makefile); requirements.txt pins azure-functions 1.x there.
    assert sys.version_info[:2] == (3, 11)
    assert version("azure-functions") == "1.26.0"
    assert len(indexed_functions()) > 0


def test_3_11_and_the_3_13_worker_load_the_same_functions() -> None:
    on_311 = {function.get_function_name() for function in indexed_functions()}
    assert on_311 == set(index_with_worker().functions)
