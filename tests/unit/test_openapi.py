"""The OpenAPI document describes exactly the routes the app registers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_operation_documents_the_hosts_401() -> None:
    """Function-level auth: the host answers 401 with an empty body before any route runs."""
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    unauthorized = document["components"]["responses"]["Unauthorized"]
    assert "empty body" in unauthorized["description"]
    assert "content" not in unauthorized  # no JSON: the host, not the app, answers
    missing = [
        f"{method.upper()} {path}"
        for (path, method), op in operations().items()
        if "401" not in op["responses"]
    ]
    assert missing == []
    for (path, method), op in operations().items():
        response = op["responses"]["401"]
        assert response == {"$ref": "#/components/responses/Unauthorized"} or "empty body" in response.get(
            "description", ""
        ), f"{method.upper()} {path}"


def test_starting_a_recording_on_an_unknown_call_documents_the_404() -> None:
    response = operations()[("/recordings", "post")]["responses"]["404"]
    assert "CallNotFound" in response["description"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_starting_a_recording_on_a_call_already_recorded_documents_the_409() -> None:
    # ACS answers 409 when the call already has a recording in progress; shared/errors.py passes it on.
    response = operations()[("/recordings", "post")]["responses"]["409"]
    assert "Conflict" in response["description"]
    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_archive_statuses_documented_are_the_ones_the_archive_owns() -> None:
    from shared.archive.states import ArchiveStatus

    document = json.loads(OPENAPI.read_text())
    (listing,) = [
        p for p in document["paths"]["/recordings"]["get"]["parameters"] if p["name"] == "archiveStatus"
    ]
    status = document["components"]["schemas"]["ArchiveStatus"]["properties"]["status"]
    assert listing["schema"]["enum"] == [s.value for s in ArchiveStatus]
    assert status["enum"] == [*(s.value for s in ArchiveStatus), None]


def test_every_optional_query_parameter_documents_what_the_host_does_with_it() -> None:
    """The Functions host drops an empty parameter and joins a repeated one with commas before the
    app runs (docs/api.md, "Query parameters"): the document says so, for every operation."""
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    optional = [
        (method, path, param)
        for (path, method), op in operations().items()
        for param in op.get("parameters", [])
        if param.get("in") == "query" and not param.get("required")
    ]
    assert optional, "the listing has query parameters"
    assert [f"{m} {p} {q['name']}" for m, p, q in optional if q.get("allowEmptyValue") is not True] == []
    promise = document["info"]["description"]
    assert "given empty (`?state=`) is dropped" in promise
    assert "joined by commas (`a,b`)" in promise


def test_the_health_answer_documents_every_archive_status_and_the_ones_that_need_attention() -> None:
    from shared.archive.health import MAX_WINDOW_HOURS, OLDEST_LISTED
    from shared.archive.states import NEEDS_ATTENTION, ArchiveStatus

    document = json.loads(OPENAPI.read_text())
    health = document["components"]["schemas"]["ArchiveHealth"]["properties"]
    assert list(health["counts"]["properties"]) == [s.value for s in ArchiveStatus]
    assert list(health["attention"]["properties"]) == [s.value for s in NEEDS_ATTENTION]
    (hours,) = document["paths"]["/archive-health"]["get"]["parameters"]
    assert (hours["name"], hours["schema"]["maximum"]) == ("hours", MAX_WINDOW_HOURS)
    assert (
        document["components"]["schemas"]["AttentionList"]["properties"]["oldest"]["maxItems"]
        == OLDEST_LISTED
    )
