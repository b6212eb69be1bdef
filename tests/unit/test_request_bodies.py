"""How every local stand-in reads a request body (devtools/http_server.read_body): framing that
Kestrel, in front of the Functions host, would refuse is a 400 here too, never a guess and never a
dropped connection."""

from __future__ import annotations

import io
from email.message import Message

import pytest

from devtools.http_server import BodyError, read_body


def headers(**values: str) -> Message:
    message = Message()
    for name, value in values.items():
        message[name.replace("_", "-")] = value
    return message


def read(raw: bytes, **values: str) -> bytes:
    return read_body(io.BytesIO(raw), headers(**values), limit=1024)


def test_a_chunked_body_is_joined() -> None:
    assert read(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n", Transfer_Encoding="chunked") == b"abcde"


@pytest.mark.parametrize("length", ["²", "+3", "3 3", "0x3", "-1"])
def test_a_content_length_that_is_not_ascii_digits_is_400(length: str) -> None:
    with pytest.raises(BodyError) as refused:
        read(b"abc", Content_Length=length)
    assert refused.value.status == 400


@pytest.mark.parametrize("size", [b"0x3", b"+3", b"1_0", b"-3", b""])
def test_a_chunk_size_that_is_not_hex_digits_is_400(size: bytes) -> None:
    with pytest.raises(BodyError) as refused:
        read(size + b"\r\nabc\r\n0\r\n\r\n", Transfer_Encoding="chunked")
    assert refused.value.status == 400


def test_a_chunk_not_followed_by_its_line_end_is_400() -> None:
    with pytest.raises(BodyError) as refused:
        read(b"3\r\nabcJUNK\r\n0\r\n\r\n", Transfer_Encoding="chunked")
    assert refused.value.status == 400
