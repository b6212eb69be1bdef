"""Trigger declarations, one module per concern; the logic they call lives in `shared/`."""

from typing import Any, Dict  # noqa: UP035 (see ActivityInput)

import azure.functions as func

# The Python worker refuses a binding parameter annotated with a builtin generic such as
# `dict[str, Any]` ("invalid non-type annotation"): that function never loads on Azure. typing's
# alias passes its check. tests/unit/test_worker_indexing.py holds the app to the worker's rules.
ActivityInput = Dict[str, Any]  # noqa: UP006


def blueprint() -> func.Blueprint:
    """A plain blueprint. (azure-functions leaves `DecoratorApi.__init__` unannotated, so mypy strict
    would call the constructor untyped; its decorators are typed.)"""
    return func.Blueprint()  # type: ignore[no-untyped-call]
