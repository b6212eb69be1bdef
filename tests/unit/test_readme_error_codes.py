"""README's error table lists every code the app can answer, and only those: a new `ApiError` code, a
renamed one or a removed one shows up here, not in a client's `switch` that falls through.

The codes are read from the source itself (every `ApiError`/`RerunRefusal` built with a literal code,
every `code=` keyword and every keyword-only `code` default), so the test needs no list of its own.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((REPO / "shared").rglob("*.py")),
    *sorted((REPO / "blueprints").rglob("*.py")),
    REPO / "function_app.py",
]
ERROR_TYPES = {"ApiError", "RerunRefusal"}
ROW = re.compile(r"^\| (?P<status>\d{3}) \| `(?P<code>[A-Za-z]+)` \|", re.M)


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def codes_in(tree: ast.AST) -> set[str]:
    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if _called(node) in ERROR_TYPES and len(node.args) >= 2:
                found.add(_literal(node.args[1]))
            found.update(_literal(kw.value) for kw in node.keywords if kw.arg == "code")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            found.update(
                _literal(default)
                for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
                if arg.arg == "code"
            )
    return {code for code in found if code}


def answered_codes() -> set[str]:
    return set().union(*(codes_in(ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES))


def documented_codes() -> set[str]:
    return {row["code"] for row in ROW.finditer((REPO / "README.md").read_text(encoding="utf-8"))}


def test_the_source_scan_finds_the_codes_it_is_meant_to() -> None:
    """A scan that found nothing would make the next test pass on any README."""
    assert {"InvalidRequest", "RecordingNotFound", "ArchiveRunning", "UpstreamThrottled"} <= answered_codes()


def test_every_code_the_app_answers_is_in_the_readme_error_table() -> None:
    assert sorted(answered_codes() - documented_codes()) == []


def test_the_readme_error_table_lists_no_code_the_app_never_answers() -> None:
    assert sorted(documented_codes() - answered_codes()) == []
