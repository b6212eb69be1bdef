"""The Python worker of the local host: the app runs in its own process, invoked by the worker's code.

On Azure the Functions host (.NET) starts the Python worker (`azure-functions-runtime`, Python 3.13)
and talks to it over gRPC: the worker indexes `function_app.py`, and for each invocation decodes the
host's `TypedData` into Python objects with its converters, calls the function, applies its rules
(a function without a `$return` binding must return None) and encodes the result. The local host
does the same with the worker's own code, through its protobuf-free entry point
`azure_functions_runtime.native_invocation.invocation_request_native`:

- `worker.py` runs in `.venv-worker` (Python 3.13, the pinned `azure-functions-runtime`), loads the
  app with the worker's `load_function_metadata` and answers invocations;
- `channel.py` is the host's side (Python 3.11): starts that process, sends invocations, forwards
  the worker's log records into the host's logging, as the host shows RpcLog messages;
- `wire.py` is the message format both sides share: length-prefixed JSON over a socket pair, with
  `TypedData` written as the protobuf message's JSON shape (bytes in base64).
"""
