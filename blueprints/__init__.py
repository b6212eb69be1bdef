"""Trigger declarations, one module per concern; the logic they call lives in `shared/`."""

import azure.functions as func


def blueprint() -> func.Blueprint:
    """A plain blueprint. (azure-functions leaves `DecoratorApi.__init__` unannotated, so mypy strict
    would call the constructor untyped; its decorators are typed.)"""
    return func.Blueprint()  # type: ignore[no-untyped-call]
