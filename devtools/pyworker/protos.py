"""The protobuf module the worker's own conversion code expects, building the wire's JSON shapes.

The Functions host hands the worker its generated protobuf module at init
(`request.properties["protos"]`), and the worker's code builds messages through it:
`datum_as_proto` (return values, HTTP responses and their cookies through
`parse_to_rpc_http_cookie_list` and the `to_nullable_*` converters), `load_function_metadata`
(`RpcFunctionMetadata`, `BindingInfo`, `RpcRetryOptions`). This stand-in has the same names; each
"message class" returns a plain dict, so every decision stays in the worker's code and the result
can be sent as JSON (`wire.py`). Enum numbers are those of `FunctionRpc.proto`
(azure-functions-language-worker-protobuf); SameSite values travel by name.

Runs inside the worker process (Python 3.13) and imports nothing from the worker itself.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any


class _Message:
    """Calling a message class returns its set fields as a dict; enum values are attributes."""

    def __init__(self, name: str, **enum_values: Any) -> None:
        self._name = name
        self.__dict__.update(enum_values)

    def __call__(self, **fields: Any) -> dict[str, Any]:
        return {key: _plain(value) for key, value in fields.items() if value is not None}

    def __repr__(self) -> str:
        return f"<protos.{self._name}>"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class _SameSite:
    # RpcHttpCookie.SameSite: None = 0, Lax = 1, Strict = 2, ExplicitNone = 3 (sent by name here).
    Lax = "Lax"
    Strict = "Strict"
    ExplicitNone = "ExplicitNone"


setattr(_SameSite, "None", "None")  # `None` is a keyword; the worker reads it with getattr


# BindingInfo.Direction: in = 0, out = 1, inout = 2; BindingInfo.DataType: undefined = 0, string = 1,
# binary = 2, stream = 3 (FunctionRpc.proto).
BindingInfo = _Message(
    "BindingInfo", **{"in": 0, "out": 1, "inout": 2, "undefined": 0, "string": 1, "binary": 2}
)
TypedData = _Message("TypedData")
RpcHttp = _Message("RpcHttp")
RpcHttpCookie = _Message("RpcHttpCookie", SameSite=_SameSite)
NullableString = _Message("NullableString")
NullableBool = _Message("NullableBool")
NullableDouble = _Message("NullableDouble")
NullableTimestamp = _Message("NullableTimestamp")
Timestamp = _Message("Timestamp")
RpcFunctionMetadata = _Message("RpcFunctionMetadata")
RpcRetryOptions = _Message("RpcRetryOptions")
ParameterBinding = _Message("ParameterBinding")
RpcException = _Message("RpcException")
