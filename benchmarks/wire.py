"""The wire limit: the same bytes from the emulator into Azurite with no ACS or Storage SDK.

`http.client` only: `in_flight` threads, each with one keep-alive TLS connection to the recording
host and one to Azurite and one reusable buffer of `range_bytes`. Each thread takes the next range,
GETs it (HMAC signed by hand, as the ACS SDK's HMACCredentialsPolicy does) straight into its
buffer with `readinto`, and PUTs it as a block (Shared Key signed by hand, as the Storage REST spec
says). One Put Block List commits the blob. No hashing, no retries: the fastest plain transfer.
Like the SDK, it follows the recording host's 302 to the regional host (a second keep-alive
connection per thread), so both pay the same two requests per range.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import quote, urlsplit

from devtools.acs_emulator.hmac_auth import sign_headers

STORAGE_VERSION = "2025-01-05"


@dataclass(frozen=True)
class Storage:
    """Blob endpoint and account from an Azurite (or any Shared Key) connection string."""

    host: str
    port: int
    path_prefix: str  # "/devstoreaccount1" for path-style (Azurite) URLs, "" otherwise
    account: str
    key: bytes

    @classmethod
    def from_connection_string(cls, value: str) -> Storage:
        parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
        endpoint = urlsplit(parts["BlobEndpoint"])
        return cls(
            host=endpoint.hostname or "127.0.0.1",
            port=endpoint.port or 80,
            path_prefix=endpoint.path.rstrip("/"),
            account=parts["AccountName"],
            key=base64.b64decode(parts["AccountKey"]),
        )

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def signed(
        self, method: str, path: str, query: dict[str, str], length: int, extra: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """The request target and headers of a Shared Key request (spec: Authorize with Shared Key)."""
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": STORAGE_VERSION, **(extra or {})}
        canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-"))
        canonical_query = "".join(f"\n{k.lower()}:{v}" for k, v in sorted(query.items()))
        content_type = headers.get("Content-Type", "")
        fields = [method, "", "", str(length) if length else "", "", content_type, "", "", "", "", "", ""]
        to_sign = "\n".join(fields) + "\n" + canonical_headers + f"/{self.account}{path}" + canonical_query
        signature = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = f"SharedKey {self.account}:{signature}"
        headers["Content-Length"] = str(length)
        target = path + (
            "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items()) if query else ""
        )
        return target, headers


@dataclass(frozen=True)
class Recording:
    """The ACS side: where the emulator listens (control-plane host signs content downloads)."""

    resource_host: str  # "127.0.0.1:PORT", the signed host (HMACCredentialsPolicy._host)
    access_key: str
    tls: ssl.SSLContext

    def connect(self, content_url: str) -> http.client.HTTPSConnection:
        parts = urlsplit(content_url)
        return http.client.HTTPSConnection(
            parts.hostname or "", parts.port or 443, context=self.tls, timeout=120
        )

    def headers(self, path: str, first: int, last: int) -> dict[str, str]:
        signed = sign_headers(
            method="GET", path_and_query=path, host=self.resource_host, body=b"", access_key=self.access_key
        )
        return {
            **signed,
            "x-ms-host": self.resource_host.rsplit(":", 1)[0],
            "Range": f"bytes={first}-{last}",
        }


def _block_id(index: int) -> str:
    return base64.b64encode(f"{index:08d}".encode()).decode()


def transfer(
    recording: Recording,
    storage: Storage,
    content_url: str,
    length: int,
    container: str,
    blob: str,
    *,
    range_bytes: int,
    in_flight: int,
    sink: bool = True,
) -> None:
    """Copy `length` bytes of `content_url` into `container/blob` as committed blocks
    (`sink=False`: read the ranges and discard them, the download side alone)."""
    source_path = urlsplit(content_url).path
    blob_path = f"{storage.path_prefix}/{container}/{quote(blob)}"
    ranges = [
        (i, offset, min(range_bytes, length - offset))
        for i, offset in enumerate(range(0, length, range_bytes))
    ]
    pending: Iterator[tuple[int, int, int]] = iter(ranges)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        buffer = bytearray(range_bytes)
        view = memoryview(buffer)
        source = recording.connect(content_url)
        regional: http.client.HTTPSConnection | None = None  # where the recording host redirects
        target = storage.connect()
        try:
            while not errors:
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                index, offset, size = item
                source.request(
                    "GET", source_path, headers=recording.headers(source_path, offset, offset + size - 1)
                )
                response = source.getresponse()
                if response.status == 302:  # as the real host does: the bytes are on a regional host
                    location = response.getheader("Location") or ""
                    response.read()
                    if regional is None:
                        regional = recording.connect(location)
                    parts = urlsplit(location)
                    regional.request(
                        "GET",
                        parts.path + (f"?{parts.query}" if parts.query else ""),
                        headers={"Range": f"bytes={offset}-{offset + size - 1}"},
                    )
                    response = regional.getresponse()
                if response.status != 206:
                    raise RuntimeError(f"GET range answered {response.status}")
                got = 0
                while got < size:
                    n = response.readinto(view[got:size])
                    if not n:
                        raise RuntimeError("short range body")
                    got += n
                response.read()
                if not sink:
                    continue
                path, headers = storage.signed(
                    "PUT", blob_path, {"comp": "block", "blockid": _block_id(index)}, size
                )
                target.request("PUT", path, body=view[:size], headers=headers)
                answer = target.getresponse()
                answer.read()
                if answer.status != 201:
                    raise RuntimeError(f"Put Block answered {answer.status}")
        except BaseException as error:
            errors.append(error)
        finally:
            view.release()
            source.close()
            if regional is not None:
                regional.close()
            target.close()

    threads = [threading.Thread(target=worker, name=f"wire-{i}") for i in range(max(1, in_flight))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    if not sink:
        return
    body = (
        '<?xml version="1.0" encoding="utf-8"?><BlockList>'
        + "".join(f"<Latest>{_block_id(i)}</Latest>" for i, _, _ in ranges)
        + "</BlockList>"
    ).encode()
    connection = storage.connect()
    try:
        path, headers = storage.signed(
            "PUT", blob_path, {"comp": "blocklist"}, len(body), {"Content-Type": "application/xml"}
        )
        connection.request("PUT", path, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        if answer.status != 201:
            raise RuntimeError(f"Put Block List answered {answer.status}")
    finally:
        connection.close()
