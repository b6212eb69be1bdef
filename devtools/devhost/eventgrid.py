"""The Event Grid webhook (`/runtime/webhooks/eventgrid?functionName=...`), as the extension answers it.

The rules follow Microsoft.Azure.WebJobs.Extensions.EventGrid 3.x (Azure/azure-sdk-for-net,
sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.EventGrid/src), the extension of the Functions
extension bundle 4.x this app pins in host.json:

- `HttpRequestProcessor.ProcessAsync` decides by the `aeg-event-type` header alone (first value,
  compared case-insensitively): `SubscriptionValidation` is the handshake, `Notification` a
  delivery, `Unsubscribe` 202; anything else, a missing header included, 400. An `OPTIONS` request
  is the CloudEvents handshake: 200 with `Webhook-Allowed-Origin`.
- `EventGridExtensionConfigProvider.ProcessEventsAsync` runs every event of a delivery at once
  (single dispatch: one invocation per event), waits for all, and answers 500 with the first
  failure's message when any failed, else 202. So a failed event's siblings have run, and Event
  Grid delivers the whole batch again.
- A body the processor cannot read (not JSON, nested deeper than Json.NET reads, no validation
  code where it looks for one) throws, and the host's ExceptionMiddleware answers 500 with no body
  (azure-functions-host src/WebJobs.Script.WebHost/Middleware/ExceptionMiddleware.cs).

Python's JSON parser is used where the extension uses Json.NET's `JToken.Parse`, which also
accepts comments, single quotes and unquoted names: such bodies get 500 here (stricter, never more
forgiving). Event Grid's 1 MB delivery limit answers 413 before a body is read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

from devtools.devhost.http_binding import HttpAnswer
from devtools.pyworker.channel import InvocationResult

# Event Grid's limit for one delivery: 1 MB per event and per array of Event Grid schema events,
# from the Event Grid quotas and limits documentation (not verified against the service here).
# Larger deliveries answer 413 before their body is read; the host's HTTP limit (100 MiB) is not it.
MAX_DELIVERY_BYTES = 1024 * 1024
PUBLIC_CLOUD_ORIGIN = "eventgrid.azure.net"
# HttpRequestProcessor.GetAllowedOriginResponseHeader: a known cloud's origin is echoed, else public.
KNOWN_ORIGINS = frozenset(
    {
        PUBLIC_CLOUD_ORIGIN,
        "eventgrid.azure.us",
        "eventgrid.azure.eaglex.ic.gov",
        "eventgrid.azure.microsoft.scloud",
        "eventgrid.azure.cn",
    }
)

RunEvent = Callable[[dict[str, Any]], "Future[InvocationResult]"]


class _UnreadableError(Exception):
    """What the extension would throw on: the host answers 500 with no body."""


def handle_delivery(
    function_name: str,
    method: str,
    event_type: str | None,
    headers: Mapping[str, str],
    body: bytes,
    run_event: RunEvent,
) -> HttpAnswer:
    """One webhook request for an existing Event Grid function; `run_event` invokes it for one event."""
    if method == "OPTIONS":
        origin = headers.get("webhook-request-origin", PUBLIC_CLOUD_ORIGIN)
        allowed = origin if origin in KNOWN_ORIGINS else PUBLIC_CLOUD_ORIGIN
        return HttpAnswer(200, [("Webhook-Allowed-Origin", allowed)])
    kind = (event_type or "").lower()
    try:
        if kind == "subscriptionvalidation":
            response = json.dumps(
                {"validationResponse": validation_code(_parse(body))}, separators=(",", ":")
            )
            return HttpAnswer(200, [("Content-Type", "text/plain; charset=utf-8")], response.encode())
        if kind == "notification":
            return _deliver(function_name, _events(_parse(body)), run_event)
    except _UnreadableError:
        return HttpAnswer(500)
    return HttpAnswer(202 if kind == "unsubscribe" else 400)


# Json.NET's JsonReader.MaxDepth, 64 by default since Newtonsoft.Json 13.0.1: a body nested deeper
# throws in the processor's reader (UNVERIFIED: the Json.NET version the extension bundle loads).
MAX_JSON_DEPTH = 64


def _parse(body: bytes) -> Any:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise _UnreadableError from None
    if _depth(payload) > MAX_JSON_DEPTH:
        raise _UnreadableError
    return payload


def _depth(value: Any) -> int:
    """How many arrays and objects nest at the deepest point (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def validation_code(events: Any) -> str:
    """`validationCode` as HttpRequestProcessor reads it: `events[0].data.validationCode` of an
    array, or of the object's `data` parsed again (CloudEvents carry it double-encoded), then
    `JToken.ToString()`. A missing member is a NullReferenceException there (500 here)."""
    if isinstance(events, list):
        first = events[0] if events else None
        data = first.get("data") if isinstance(first, dict) else None
    elif isinstance(events, dict):
        if "data" not in events:
            raise _UnreadableError
        data = events["data"]
        data = _parse(data.encode() if isinstance(data, str) else token_text(data).encode())
    else:
        raise _UnreadableError
    if not isinstance(data, dict) or "validationCode" not in data:
        raise _UnreadableError
    return token_text(data["validationCode"])


def token_text(token: Any) -> str:
    """Json.NET's `JToken.ToString()`: a string as it is, null as "", objects indented.

    UNVERIFIED: Json.NET's text of floats (its round-trip format) for values with an exponent.
    """
    if isinstance(token, str):
        return token
    if token is None:
        return ""
    if isinstance(token, bool):
        return "True" if token else "False"
    if isinstance(token, float) and math.isfinite(token) and token.is_integer() and abs(token) < 1e15:
        return str(int(token))
    if isinstance(token, int | float):
        return repr(token)
    return json.dumps(token, indent=2, ensure_ascii=False)


def _events(payload: Any) -> list[Any]:
    if isinstance(payload, list):
        return payload  # Event Grid schema: an array
    if isinstance(payload, dict):
        return [payload]  # CloudEvents: one event
    raise _UnreadableError  # ArgumentOutOfRangeException in the processor


def _deliver(function_name: str, events: list[Any], run_event: RunEvent) -> HttpAnswer:
    runs: list[Future[InvocationResult]] = []
    for event in events:
        bound = _bound(event)
        if bound is None:
            # EventGridTriggerBinding.BindAsync: a value that is no JSON object cannot be bound,
            # and that invocation fails without running the function.
            unbound: Future[InvocationResult] = Future()
            unbound.set_result(InvocationResult(ok=False, error=f"Unable to bind {json.dumps(event)[:100]}"))
            runs.append(unbound)
        else:
            runs.append(run_event(bound))
    results = [run.result() for run in runs]  # all of them, as Task.WhenAll
    if any(not result.ok for result in results):
        # The failed FunctionResult's exception is the WebJobs SDK's FunctionInvocationException,
        # whose message names the function (UNVERIFIED wording: "Exception while executing
        # function: Functions.<name>", as the host logs it); the worker's error stays in the log.
        message = f"Exception while executing function: Functions.{function_name}"
        return HttpAnswer(500, [("Content-Type", "text/plain; charset=utf-8")], message.encode())
    return HttpAnswer(202)


def _bound(event: Any) -> dict[str, Any] | None:
    if isinstance(event, dict):
        return event
    if isinstance(event, str):  # a string is parsed as a JObject (BindAsync)
        try:
            parsed = json.loads(event)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def trigger_data(event: Mapping[str, Any]) -> dict[str, str]:
    """The event as the worker receives it: JSON (a `JObject` is `TypedData.json`, unindented)."""
    return {"json": json.dumps(event, separators=(",", ":"), ensure_ascii=False)}


def trigger_metadata(event: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The binding data EventGridTriggerBinding.BindAsync contributes: `data`."""
    return {"data": {"json": json.dumps(event.get("data"), separators=(",", ":"), ensure_ascii=False)}}
