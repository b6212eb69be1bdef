"""`make run` installs only what running needs (requirements-run.txt), yet all of it: every
third-party module the local stack imports comes from a distribution requirements-run.txt names
(or the app's requirements.txt it includes), and no test tool is among them (issue 24)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_TOOLS = {
    "pytest",
    "hypothesis",
    "schemathesis",
    "mypy",
    "ruff",
    "import-linter",
    "pycep-parser",
    "pyyaml",
}


def named(requirements: str) -> set[str]:
    """Distribution names a requirements file names, following `-r` includes."""
    names: set[str] = set()
    for line in (REPO / requirements).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= named(line[3:].strip())
        elif line:
            names.add(re.split(r"[\[=<>;~! ]", line, maxsplit=1)[0].lower())
    return names


def imported_by(folder: str) -> set[str]:
    modules: set[str] = set()
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"devtools", "shared", "blueprints", "__future__"}


def test_the_run_requirements_hold_no_test_tool() -> None:
    assert named("requirements-run.txt") & TEST_TOOLS == set()


def test_every_module_the_local_stack_imports_comes_from_the_run_requirements() -> None:
    provided = importlib.metadata.packages_distributions()
    wanted = named("requirements-run.txt")
    missing = {
        module
        for module in imported_by("devtools")
        if module != "azure_functions_runtime"  # the worker's, in .venv-worker (requirements.txt, 3.13)
        and not {dist.lower() for dist in provided.get(module, [])} & wanted
    }
    assert missing == set()
