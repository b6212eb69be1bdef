"""HMAC verification against the captured SDK test vectors and tampered variants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.acs_emulator import hmac_auth

from .conftest import load_reference


def _vectors() -> list[dict[str, Any]]:
    return list(load_reference("hmac-test-vectors.json")["vectors"])


def _secret() -> bytes:
    return hmac_auth.decode_access_key(load_reference("hmac-test-vectors.json")["access_key_base64"])


def _verify(vector: dict[str, Any], **overrides: Any) -> None:
    parts = urlsplit(vector["url"])
    headers = {
        "authorization": vector["Authorization"],
        "x-ms-date": vector["x-ms-date"],
        "x-ms-content-sha256": vector["x-ms-content-sha256"],
        "host": vector["signing_host"],
    }
    headers.update(overrides.pop("headers", {}))
    headers = {k: v for k, v in headers.items() if v is not None}
    arguments: dict[str, Any] = {
        "method": vector["method"],
        "path_and_query": parts.path + (f"?{parts.query}" if parts.query else ""),
        "headers": headers,
        "body": vector["body"].encode("utf-8"),
        "secret": _secret(),
        "host": vector.get("x-ms-host"),
        "now": parsedate_to_datetime(vector["x-ms-date"]),
    }
    arguments.update(overrides)
    hmac_auth.verify_request(**arguments)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_captured_vector_verifies(index: int) -> None:
    _verify(_vectors()[index])


@pytest.mark.parametrize("index", [0, 1, 2])
def test_string_to_sign_and_signature_match_vector(index: int) -> None:
    vector = _vectors()[index]
    parts = urlsplit(vector["url"])
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    text = hmac_auth.string_to_sign(
        vector["method"], path, [vector["x-ms-date"], vector["signing_host"], vector["x-ms-content-sha256"]]
    )
    assert text == vector["string_to_sign"]
    assert hmac_auth.content_sha256(vector["body"].encode()) == vector["x-ms-content-sha256"]
    signature = vector["Authorization"].split("Signature=", 1)[1]
    assert hmac_auth.compute_signature(_secret(), text) == signature


def test_sign_headers_reproduces_vector_authorization() -> None:
    vector = _vectors()[0]
    parts = urlsplit(vector["url"])
    headers = hmac_auth.sign_headers(
        method="POST",
        path_and_query=f"{parts.path}?{parts.query}",
        host=vector["signing_host"],
        body=vector["body"].encode(),
        access_key=load_reference("hmac-test-vectors.json")["access_key_base64"],
        now=parsedate_to_datetime(vector["x-ms-date"]),
    )
    assert headers["Authorization"] == vector["Authorization"]
    assert headers["x-ms-date"] == vector["x-ms-date"]


@pytest.mark.parametrize(
    ("description", "overrides"),
    [
        ("tampered body", {"body": b'{"callLocator": {}}'}),
        ("other method", {"method": "PUT"}),
        ("other path", {"path_and_query": "/calling/recordings?api-version=2025-05-15"}),
        ("other host", {"headers": {"host": "evil.communication.azure.com"}}),
        ("wrong key", {"secret": b"not the key"}),
        ("missing authorization", {"headers": {"authorization": None}}),
        ("missing date", {"headers": {"x-ms-date": None}}),
        ("missing content hash", {"headers": {"x-ms-content-sha256": None}}),
        ("missing host", {"headers": {"host": None}}),
        ("bearer token", {"headers": {"authorization": "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig"}}),
        ("unknown scheme", {"headers": {"authorization": "SharedKey abc"}}),
        ("no parameters", {"headers": {"authorization": "HMAC-SHA256"}}),
        (
            "other signed headers",
            {"headers": {"authorization": "HMAC-SHA256 SignedHeaders=host;x-ms-date&Signature=abc="}},
        ),
        ("unparseable date", {"headers": {"x-ms-date": "yesterday"}}),
    ],
)
def test_tampered_or_incomplete_request_is_rejected(description: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(hmac_auth.HmacAuthError):
        _verify(_vectors()[0], **overrides)


def test_tampered_signature_is_rejected() -> None:
    vector = _vectors()[0]
    forged = vector["Authorization"].replace("Signature=p", "Signature=q")
    with pytest.raises(hmac_auth.HmacAuthError, match="signature"):
        _verify(vector, headers={"authorization": forged})


def test_content_hash_that_does_not_match_body_is_rejected() -> None:
    vector = _vectors()[0]
    with pytest.raises(hmac_auth.HmacAuthError, match="x-ms-content-sha256"):
        _verify(vector, headers={"x-ms-content-sha256": hmac_auth.content_sha256(b"")})


def test_date_outside_skew_window_is_rejected() -> None:
    vector = _vectors()[0]
    late = parsedate_to_datetime(vector["x-ms-date"]) + timedelta(minutes=16)
    with pytest.raises(hmac_auth.HmacAuthError, match="skew"):
        _verify(vector, now=late)


def test_date_inside_skew_window_is_accepted() -> None:
    vector = _vectors()[0]
    _verify(vector, now=parsedate_to_datetime(vector["x-ms-date"]) - timedelta(minutes=14))


def test_download_vector_needs_resource_host_not_storage_host() -> None:
    vector = _vectors()[2]
    with pytest.raises(hmac_auth.HmacAuthError):
        _verify(vector, host="us-storage.asm.skype.com")


def test_signed_headers_round_trip_with_current_time() -> None:
    now = datetime.now(UTC)
    headers = hmac_auth.sign_headers(
        method="GET", path_and_query="/x?y=1", host="127.0.0.1:1", body=b"", access_key="a2V5", now=now
    )
    lowered = {k.lower(): v for k, v in headers.items()} | {"host": "127.0.0.1:1"}
    hmac_auth.verify_request(
        method="GET", path_and_query="/x?y=1", headers=lowered, body=b"", secret=b"key", now=now
    )


def test_access_key_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        hmac_auth.decode_access_key("not base64!")
