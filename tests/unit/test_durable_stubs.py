"""The Durable SDK's type stubs (typings/) say only what the installed SDK has: every class, method
and property they name exists there, with the same parameters in the same order. A stub that
drifted from the SDK would let mypy pass code that fails at run time."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import azure.durable_functions as df
import pytest
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus
from azure.durable_functions.models.Task import TaskBase

STUB = Path(__file__).resolve().parents[2] / "typings" / "azure" / "durable_functions" / "__init__.pyi"
# Classes the stub names that the package does not export at its top level.
ELSEWHERE = {"TaskBase": TaskBase, "DurableOrchestrationStatus": DurableOrchestrationStatus}


def stubbed() -> list[tuple[str, str | None, list[str]]]:
    """(class, member or None, parameter names) of everything the stub declares."""
    found: list[tuple[str, str | None, list[str]]] = []
    for node in ast.parse(STUB.read_text()).body:
        if not isinstance(node, ast.ClassDef):
            continue
        found.append((node.name, None, []))
        for member in node.body:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((node.name, member.name, [a.arg for a in member.args.args]))
            elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                found.append((node.name, member.target.id, []))
    return found


@pytest.mark.parametrize(("cls", "member", "parameters"), stubbed(), ids=lambda v: str(v))
def test_every_stubbed_name_exists_in_the_installed_sdk_with_the_same_parameters(
    cls: str, member: str | None, parameters: list[str]
) -> None:
    real_class = ELSEWHERE.get(cls) or getattr(df, cls)
    if member is None:
        return
    if member == "result":  # an instance attribute, set in TaskBase.__init__
        assert "self.result" in inspect.getsource(real_class.__init__)
        return
    real = inspect.getattr_static(real_class, member)
    if isinstance(real, property):
        return
    real_parameters = list(inspect.signature(real).parameters)
    assert real_parameters[: len(parameters)] == parameters
    assert all(
        p.default is not inspect.Parameter.empty
        for p in list(inspect.signature(real).parameters.values())[len(parameters) :]
    ), f"{cls}.{member} takes parameters the stub leaves out"
