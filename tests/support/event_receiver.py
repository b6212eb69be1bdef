"""A consumer of the lifecycle events: a loopback webhook subscribed to the (local) topic, as another
team's function or app would be. It answers the CloudEvents handshake (OPTIONS) and keeps each event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback_server import loopback_server


@dataclass
class EventReceiver:
    url: str
    events: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, check: Callable[[list[dict[str, Any]]], bool], timeout: float) -> list[dict[str, Any]]:
        """The events received once `check` holds for them; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not check(list(self.events)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the subscriber did not get the events in time: {self.summary()}")
                self.lock.wait(min(left, 0.5))
            return list(self.events)

    def summary(self) -> list[tuple[str, int]]:
        return [(event.get("type", "?"), event.get("data", {}).get("sequence", -1)) for event in self.events]


@contextmanager
def event_receiver() -> Iterator[EventReceiver]:
    receiver = EventReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_OPTIONS(self) -> None:  # the CloudEvents webhook handshake
            self.send_response(200)
            self.send_header("WebHook-Allowed-Origin", self.headers.get("WebHook-Request-Origin", "*"))
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.content_types.append(self.headers.get("content-type", ""))
                receiver.events.append(json.loads(body))
                receiver.lock.notify_all()
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    with loopback_server(Handler) as base:
        receiver.url = f"{base}/events"
        yield receiver
