"""What a documented answer of the HTTP API looks like (README "HTTP API", docs/openapi.json).

Our functions answer errors as `{"error": {"code", "message", "target"?}}` with the same code in
`x-ms-error-code`; the Functions host answers 401 (function key), 404 (route) and 405 (method)
itself, with no body. A 500 is never documented behaviour, whatever the input.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests
from schemathesis import Response as SchemathesisResponse

HOST_ANSWERS = frozenset({401, 404, 405})  # what the host says before our code runs: empty bodies
UPSTREAM_ANSWERS = frozenset({502, 503, 504})  # documented: ACS or Storage failed, never the input


def error_shape_problem(body: bytes, header_code: str | None) -> str | None:
    """Why `body` is not our documented error body, or None when it is."""
    try:
        payload: Any = json.loads(body)
    except ValueError:
        return "the body is not JSON"
    if not isinstance(payload, dict) or set(payload) != {"error"} or not isinstance(payload["error"], dict):
        return "the body is not {'error': {...}}"
    error = payload["error"]
    if not {"code", "message"} <= set(error) <= {"code", "message", "target"}:
        return f"the error has the keys {sorted(error)}"
    if not all(isinstance(value, str) for value in error.values()):
        return "an error field is not a string"
    if header_code != error["code"]:
        return "x-ms-error-code does not match the body's code"
    return None


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as the checks need it, from requests or from schemathesis."""

    method: str
    path: str  # without the query: it may carry the function key
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @classmethod
    def of(cls, response: requests.Response | SchemathesisResponse) -> Answer:
        request = response.request
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            headers[name.lower()] = value if isinstance(value, str) else ", ".join(value)
        return cls(
            method=str(request.method),
            path=(request.path_url or "").split("?")[0],
            status=response.status_code,
            headers=headers,
            body=response.content or b"",
        )

    def __str__(self) -> str:
        """Shows the answer, never the request (it carries the key)."""
        return f"{self.method} {self.path} -> {self.status} {self.body[:300]!r}"


def answer_problem(answer: Answer) -> str | None:
    """Why this answer of an /api route is undocumented, or None when it is documented."""
    status = answer.status
    if status == 500 or (status >= 500 and status not in UPSTREAM_ANSWERS):
        return f"answered {status}"
    if status < 400:
        return None
    header_code = answer.headers.get("x-ms-error-code")
    if status in HOST_ANSWERS and header_code is None:
        return None if answer.body == b"" else f"the host's {status} carries a body"
    if not answer.headers.get("content-type", "").startswith("application/json"):
        return f"{status} is not application/json"
    return error_shape_problem(answer.body, header_code)


def assert_documented(response: requests.Response | SchemathesisResponse | Answer) -> Answer:
    answer = response if isinstance(response, Answer) else Answer.of(response)
    problem = answer_problem(answer)
    assert problem is None, f"{problem}: {answer}"
    return answer
