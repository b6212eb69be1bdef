"""A loopback HTTP endpoint that hands each POST to our callback function, like the host would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from tests.support.functions import invoke
from tests.support.loopback_server import loopback_server

FUNCTION = "recording_state_callback"


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def statuses(self) -> list[int]:
        return [delivery.status for delivery in self.deliveries]


@contextmanager
def callback_receiver(function_key: str = "test-key") -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            import azure.functions as func

            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            if params.get("code") != function_key:
                status, payload = 401, b""
            else:
                request = func.HttpRequest(
                    method="POST",
                    url=f"http://127.0.0.1{self.path}",
                    headers=dict(self.headers.items()),
                    params=params,
                    route_params={},
                    body=body,
                )
                response = invoke(FUNCTION, request)
                status, payload = response.status_code, response.get_body()
            receiver.deliveries.append(Delivery(dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return

    with loopback_server(Handler) as base:
        receiver.url = f"{base}/api/callbacks/recording-state?code={function_key}"
        yield receiver
