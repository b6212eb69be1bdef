"""Messages between the local host and its Python worker: length-prefixed JSON over a stream socket.

Both sides import this module (the host on Python 3.11, the worker on 3.13), so it uses the
standard library only. A `TypedData` travels as the protobuf message's JSON shape
(`FunctionRpc.proto` of azure-functions-language-worker-protobuf): a dict with exactly one of
`string`, `json`, `bytes` (base64), `http`, `int`, `double`; an `RpcHttp` is a dict of its fields.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
from typing import Any

Message = dict[str, Any]
TypedData = dict[str, Any]

_HEADER = struct.Struct(">I")
MAX_MESSAGE = 256 * 1024 * 1024  # a 100 MiB request body grows by a third in base64


class ChannelClosedError(Exception):
    """The other side closed the channel (its process ended)."""


class Channel:
    """One end of the socket pair: whole messages in and out, sends serialised by a lock."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()
        self._reader = sock.makefile("rb")

    def send(self, message: Message) -> None:
        data = json.dumps(message, separators=(",", ":")).encode()
        with self._send_lock:
            try:
                self._sock.sendall(_HEADER.pack(len(data)) + data)
            except OSError as error:
                raise ChannelClosedError(str(error)) from error

    def receive(self) -> Message:
        header = self._reader.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise ChannelClosedError("end of stream")
        (length,) = _HEADER.unpack(header)
        if length > MAX_MESSAGE:
            raise ChannelClosedError(f"message of {length} bytes is over the limit")
        data = self._reader.read(length)
        if len(data) < length:
            raise ChannelClosedError("end of stream inside a message")
        message: Message = json.loads(data)
        return message

    def close(self) -> None:
        """Shut the socket down first: that ends a read blocked in another thread, which holds the
        buffered reader's lock (closing the reader first would wait for it)."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._sock.close()


def bytes_data(value: bytes) -> TypedData:
    return {"bytes": base64.b64encode(value).decode("ascii")}


def data_bytes(typed: TypedData) -> bytes:
    return base64.b64decode(typed["bytes"])
