"""HTTP trigger routes as the Functions host matches them: templates with `{name}` segments."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from devtools.pyworker.channel import FunctionMetadata

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\??\}")
ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class HttpRoute:
    function_name: str
    template: str
    methods: frozenset[str]
    auth_level: str  # "anonymous", "function" or "admin"
    pattern: re.Pattern[str]

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: v for k, v in found.groupdict().items() if v is not None}


def compile_template(template: str) -> re.Pattern[str]:
    """`recordings/{recordingId}/pause` -> a regex with one named group per parameter (one segment
    each; literal segments compared case-insensitively, as ASP.NET Core's routing does)."""
    parts: list[str] = []
    position = 0
    for param in _PARAM.finditer(template):
        parts.append(re.escape(template[position : param.start()]))
        parts.append(f"(?P<{param.group(1)}>[^/]+)")
        position = param.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts).strip("/"), re.IGNORECASE)


def http_routes(functions: Iterable[FunctionMetadata]) -> list[HttpRoute]:
    """Routes of every HTTP-triggered function, from the bindings the worker indexed; literal routes
    sort before parameterised ones."""
    routes: list[HttpRoute] = []
    for function in functions:
        trigger = function.trigger
        if function.trigger_type != "httpTrigger":
            continue
        template = str(trigger.get("route") or function.name).strip("/")
        methods = trigger.get("methods") or ALL_METHODS
        routes.append(
            HttpRoute(
                function_name=function.name,
                template=template,
                methods=frozenset(str(method).upper() for method in methods),
                auth_level=str(trigger.get("authLevel") or "function").lower(),
                pattern=compile_template(template),
            )
        )
    routes.sort(key=lambda route: (route.template.count("{"), -len(route.template)))
    return routes
