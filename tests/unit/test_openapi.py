"""The OpenAPI document describes exactly the routes the app registers."""

from __future__ import annotations

import json
from pathlib import Path

import azure.functions as func

from tests.support.functions import indexed_functions

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def registered_routes() -> set[tuple[str, str]]:
    routes = set()
    for function in indexed_functions():
        trigger = function.get_trigger()
        if getattr(trigger, "type", None) != "httpTrigger":
            continue
        for method in trigger.methods:
            routes.add((f"/{trigger.route}", str(getattr(method, "value", method)).lower()))
    return routes


def documented_routes() -> set[tuple[str, str]]:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_documented_paths_and_methods_equal_the_registered_routes() -> None:
    assert documented_routes() == registered_routes()


def test_every_operation_id_is_the_function_name() -> None:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    operation_ids = {
        op["operationId"]
        for item in document["paths"].values()
        for k, op in item.items()
        if k != "parameters"
    }
    assert operation_ids == {
        f.get_function_name()
        for f in indexed_functions()
        if getattr(f.get_trigger(), "type", None) == "httpTrigger"
    }


def test_every_http_route_requires_a_function_key() -> None:
    levels = {
        f.get_trigger().auth_level
        for f in indexed_functions()
        if getattr(f.get_trigger(), "type", None) == "httpTrigger"
    }
    assert levels == {func.AuthLevel.FUNCTION}
