"""JSON in and out of HTTP functions, and the single place errors become responses."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, Final

import azure.functions as func
from azure.core.exceptions import AzureError

from shared.errors import ApiError, QueryError, SettingsError, api_error_for, bad_request

MAX_BODY_BYTES: Final = 64 * 1024
# Our bodies nest 4 levels at most; json.loads recurses once per level (RecursionError near 1000),
# and so do str() and json.dumps on what it returns, so deeper bodies are refused before parsing.
MAX_JSON_DEPTH: Final = 64
# A JSON string (escapes included) or a bracket outside one: what the depth scan needs to see.
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_LOG = logging.getLogger(__name__)

Handler = Callable[[func.HttpRequest], func.HttpResponse]
AsyncHandler = Callable[..., Awaitable[func.HttpResponse]]


def json_response(
    body: object, status: int = HTTPStatus.OK, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    """A compact JSON answer with the charset set."""
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers=headers or {},
        mimetype="application/json",
        charset="utf-8",
    )


def empty_response(status: int) -> func.HttpResponse:
    return func.HttpResponse(status_code=status)


def error_response(error: ApiError) -> func.HttpResponse:
    return json_response(error.body(), error.status, {**error.headers, "x-ms-error-code": error.code})


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text, counted without recursion."""
    depth = deepest = 0
    for match in _JSON_NESTING.finditer(text):
        first = match.group()[0]
        if first in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif first in "]}":
            depth -= 1
    return deepest


def read_json(req: func.HttpRequest) -> Any:
    """The request's JSON body; 413 above 64 KiB, 400 when it is not JSON or nests too deeply."""
    body = req.get_body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "PayloadTooLarge",
            f"The request body must be at most {MAX_BODY_BYTES} bytes.",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise bad_request("The request body is not valid JSON.", code="InvalidJson") from None
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise bad_request(
            f"The request body's JSON nests too deeply (at most {MAX_JSON_DEPTH} levels).",
            code="InvalidJson",
        )
    try:
        return json.loads(text)
    except RecursionError:  # not reachable within MAX_JSON_DEPTH; kept so no body can give a 500
        raise bad_request("The request body's JSON nests too deeply.", code="InvalidJson") from None
    except ValueError:
        raise bad_request("The request body is not valid JSON.", code="InvalidJson") from None


def _answer_for(error: Exception, name: str) -> func.HttpResponse:
    """The one place an exception becomes an HTTP answer (the mapping is shared.errors')."""
    answer = api_error_for(error)
    if isinstance(error, ApiError | QueryError):
        if answer.status >= 500:
            _LOG.warning("%s answered %s %s", name, answer.status, answer.code)
    elif isinstance(error, SettingsError):
        _LOG.error("Configuration error: %s", error)
    elif isinstance(error, AzureError):
        # A defect: every SDK call is made inside `upstream(service)`, which names the service.
        _LOG.error("%s: an SDK error escaped its upstream() block: %s", name, type(error).__name__)
    else:
        _LOG.error("Unhandled error in %s", name, exc_info=error)
    return error_response(answer)


def api_handler_async(handler: AsyncHandler) -> AsyncHandler:
    """`api_handler` for async handlers (those with a Durable client binding)."""

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, **bindings: Any) -> func.HttpResponse:
        try:
            return await handler(req, **bindings)
        except Exception as error:
            return _answer_for(error, handler.__name__)

    return wrapper


def api_handler(handler: Handler) -> Handler:
    """Run a handler and turn every failure into our error body; never leak exception text."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except Exception as error:
            return _answer_for(error, handler.__name__)

    return wrapper
