"""HTTP trigger routes as the Functions host matches them: templates with `{name}` segments."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\??\}")


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
    """`recordings/{recordingId}/pause` -> a regex with one named group per parameter."""
    parts: list[str] = []
    position = 0
    for param in _PARAM.finditer(template):
        parts.append(re.escape(template[position : param.start()]))
        parts.append(f"(?P<{param.group(1)}>[^/]+)")
        position = param.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts).strip("/"), re.IGNORECASE)


def http_routes(functions: list[Any]) -> list[HttpRoute]:
    """Routes of every HTTP-triggered function; literal routes sort before parameterised ones."""
    routes: list[HttpRoute] = []
    for function in functions:
        trigger = function.get_trigger()
        if getattr(trigger, "type", None) != "httpTrigger":
            continue
        template = (trigger.route or function.get_function_name()).strip("/")
        methods = trigger.methods or ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        level = getattr(trigger.auth_level, "value", trigger.auth_level) or "function"
        routes.append(
            HttpRoute(
                function_name=function.get_function_name(),
                template=template,
                methods=frozenset(str(getattr(m, "value", m)).upper() for m in methods),
                auth_level=str(level).lower(),
                pattern=compile_template(template),
            )
        )
    routes.sort(key=lambda route: (route.template.count("{"), -len(route.template)))
    return routes
