"""An HTTP request in, the function's HTTP response out: what the Functions host does around the worker.

Each rule cites the public source it follows (azure-functions-host at 89dc438, October 2024;
dotnet/aspnetcore for what Kestrel and ASP.NET Core do before the host sees the request). What
could not be confirmed says UNVERIFIED. The worker's side (decoding this TypedData into
`func.HttpRequest`, encoding `func.HttpResponse`) is the worker's own code, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from devtools.pyworker.wire import TypedData, bytes_data, data_bytes

_ESCAPE = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def unescape(text: str) -> str:
    """Percent-decode as UTF-8, leaving bytes that are not valid UTF-8 escaped.

    `Uri.UnescapeDataString` (what ASP.NET Core's query parser calls) leaves invalid UTF-8 escaped.
    UNVERIFIED: the exact treatment of a partly valid run (each invalid byte is kept escaped here).
    """

    def decode(run: re.Match[str]) -> str:
        escaped = run.group(0)
        raw = bytes(int(escaped[i + 1 : i + 3], 16) for i in range(0, len(escaped), 3))
        decoded = raw.decode("utf-8", errors="surrogateescape")
        out: list[str] = []
        for char in decoded:
            if "\udc80" <= char <= "\udcff":
                out.append(f"%{ord(char) - 0xDC00:02X}")
            else:
                out.append(char)
        return "".join(out)

    return _ESCAPE.sub(decode, text)


def request_path(raw_path: str) -> str:
    """The path as routing sees it: percent-decoded except `%2F`, dot segments removed.

    Kestrel decodes the request target (UrlDecoder.DecodeRequestLine skips `%2F`) and removes `.`
    and `..` segments (PathNormalizer.RemoveDotSegments) before routing. The route values the host
    hands the worker are segments of this path, so `/api/recordings/a%2Fb` matches
    `recordings/{recordingId}` with `recordingId` = `a%2Fb` (dotnet/aspnetcore issues #2655 and
    #17864: "%2F can only be safely un-escaped after routing", and MVC/routing never does).
    """
    keep = {"%2F": "%2F", "%2f": "%2f"}
    parts = re.split(r"(%2[Ff])", raw_path)
    decoded = "".join(keep.get(part, unescape(part)) for part in parts)
    segments: list[str] = []
    for segment in decoded.split("/"):
        if segment == ".":
            continue
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
            continue
        segments.append(segment)
    return "/".join(segments) or "/"


def query_values(raw_query: str) -> dict[str, str]:
    """The query parameters the worker receives, from the raw query string, as Azure builds them.

    - split on `&`, empty segments skipped, name before the first `=`, `+` is a space, then
      percent-decoding (dotnet/aspnetcore src/Shared/QueryStringEnumerable.cs, `MoveNext` and
      `EncodedNameValuePair.Decode`);
    - names compared case-insensitively, the first spelling kept, values collected in order
      (src/Http/Http/src/Features/QueryFeature.cs, `KvpAccumulator` with OrdinalIgnoreCase);
    - each parameter's values become one string joined with `,`, empty values skipped
      (`StringValues.ToString`, Microsoft.Extensions.Primitives `GetJoinedStringValueFromArray`);
    - a parameter whose string is empty is not sent to the worker at all
      (azure-functions-host src/WebJobs.Script.Grpc/MessageExtensions/GrpcMessageConversionExtensions.cs,
      `ToRpcHttp`: `if (!string.IsNullOrEmpty(value)) http.Query.Add(...)`; the Python worker does
      not ask for `UseNullableValueDictionaryForHttp`, azure_functions_runtime 1.3.0 `worker_init_request`).

    So `?state=` reaches the function as no `state` at all, and `?state=a&state=b` as `state=a,b`.
    """
    values: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for segment in raw_query.lstrip("?").split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        name, value = unescape(name.replace("+", " ")), unescape(value.replace("+", " "))
        key = name.lower()
        spelling.setdefault(key, name)
        values.setdefault(key, []).append(value)
    joined = {spelling[key]: ",".join(v for v in found if v) for key, found in values.items()}
    return {name: value for name, value in joined.items() if value}


def header_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers as the worker receives them: lower-case names, repeated ones joined by `,`.

    ToRpcHttp adds `pair.Key.ToLowerInvariant()` -> `pair.Value.ToString()` for every header, empty
    values included (the Python worker does not ask for `IgnoreEmptyValuedRpcHttpHeaders`);
    `StringValues.ToString` joins a repeated header's values with `,`, skipping empty ones.
    """
    collected: dict[str, list[str]] = {}
    for name, value in pairs:
        collected.setdefault(name.lower(), []).append(value)
    return {
        name: ",".join(v for v in found if v) if len(found) > 1 else found[0]
        for name, found in collected.items()
    }


def rpc_http_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    query: Mapping[str, str],
    route_params: Mapping[str, str],
    body: bytes,
) -> TypedData:
    """The `RpcHttp` TypedData of ToRpcHttp for the Python worker's capabilities.

    The worker asks for `RpcHttpBodyOnly` and `RawHttpBodyBytes` (worker_init_request), so the body
    travels as bytes in `body` only, and only when the request has one: `if (request.Body != null &&
    request.ContentLength > 0)`; the worker then decodes an absent body as empty bytes.
    """
    http: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": dict(headers),
        "query": dict(query),
        "params": dict(route_params),
    }
    if body:
        http["body"] = bytes_data(body)
    return {"http": http}


@dataclass
class HttpAnswer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def http_answer(returned: TypedData | None) -> HttpAnswer:
    """The HTTP response the host writes for the worker's encoded return value.

    The host turns the RpcHttp into an object (GrpcMessageExtensionUtilities.ConvertFromHttpMessageToExpando),
    HttpBinding.CreateResult reads its status code (`int.TryParse`, else 200) and, without content
    negotiation, RawScriptResult.ExecuteResultAsync writes it: `content-type` sets the response's
    content type; any other header is added unless the response already has it (case-insensitive:
    the first one wins, `Utility.AccumulateDuplicateHeader` only logs the rest); each cookie is
    appended with ASP.NET Core's `Response.Cookies.Append`; the body bytes are written as they are
    (ByteArrayOutputFormatter). UNVERIFIED: which of two header names that differ only in case
    comes first after the protobuf map (taken here in the worker's order).
    """
    if returned is None:
        return HttpAnswer(204)  # UNVERIFIED: the worker fails a None return of an HTTP function first
    if "string" in returned:
        # UNVERIFIED beyond the plain case: a string that parses as a JSON object with a `body` is
        # read as a response object by HttpBinding.CreateResult.
        text = str(returned["string"])
        return HttpAnswer(200, [("Content-Type", "text/plain; charset=utf-8")], text.encode())
    http = returned.get("http") or {}
    status_text = str(http.get("status_code", ""))
    status = int(status_text) if status_text.strip().lstrip("+-").isdigit() else 200
    answer = HttpAnswer(status)
    seen: set[str] = set()
    for name, value in (http.get("headers") or {}).items():
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        answer.headers.append(("Content-Type" if name.lower() == "content-type" else name, str(value)))
    for cookie in http.get("cookies") or []:
        answer.headers.append(("Set-Cookie", set_cookie(cookie)))
    body = http.get("body") or {}
    if "bytes" in body:
        answer.body = data_bytes(body)
    elif "string" in body:
        answer.body = str(body["string"]).encode()
    return answer


_SAME_SITE = {"Lax": "lax", "Strict": "strict", "ExplicitNone": "none"}  # "None" is Unspecified: omitted


def set_cookie(cookie: Mapping[str, Any]) -> str:
    """One RpcHttpCookie as the `Set-Cookie` value ASP.NET Core writes.

    GrpcMessageExtensionUtilities.RpcHttpCookieConverter builds CookieOptions from the fields that
    are set (Path keeps CookieOptions' default `/` when unset; SameSite None -> Unspecified,
    ExplicitNone -> None); ResponseCookies.Append escapes the value with `Uri.EscapeDataString` and
    SetCookieHeaderValue.ToString writes `name=value; expires=<r>; max-age=<s>; domain=; path=;
    secure; samesite=; httponly` in that order (dotnet/aspnetcore
    src/Http/Http/src/Internal/ResponseCookies.cs, src/Http/Headers/src/SetCookieHeaderValue.cs).
    UNVERIFIED: an empty domain or path, which the Python worker sends for a cookie without one, is
    written as `domain=` here.
    """
    parts = [f"{cookie.get('name', '')}={quote(str(cookie.get('value', '')), safe='')}"]
    expires = (cookie.get("expires") or {}).get("value")
    if expires is not None:
        moment = datetime.fromtimestamp(int(expires.get("seconds", 0)), UTC)
        parts.append(f"expires={format_datetime(moment, usegmt=True)}")
    max_age = (cookie.get("max_age") or {}).get("value")
    if max_age is not None:
        parts.append(f"max-age={int(float(max_age))}")
    domain = (cookie.get("domain") or {}).get("value")
    if domain is not None:
        parts.append(f"domain={domain}")
    path = (cookie.get("path") or {}).get("value")
    parts.append(f"path={'/' if path is None else path}")
    if (cookie.get("secure") or {}).get("value"):
        parts.append("secure")
    same_site = _SAME_SITE.get(str(cookie.get("same_site", "None")))
    if same_site:
        parts.append(f"samesite={same_site}")
    if (cookie.get("http_only") or {}).get("value"):
        parts.append("httponly")
    return "; ".join(parts)
