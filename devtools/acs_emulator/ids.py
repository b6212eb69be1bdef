"""Identifiers shaped like the ones the real service hands out (see the captured payloads).

Code under test parses, logs and stores these ids; giving it realistic shapes (long base64 server
call ids with padding, unpadded base64 JSON recording ids) catches length and encoding mistakes
that short synthetic ids would hide.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid

# .NET ticks (100 ns since 0001-01-01) at the Unix epoch; real server call ids carry `e=<ticks>`.
_DOTNET_EPOCH_TICKS = 621_355_968_000_000_000


def new_guid() -> str:
    """A random lower-case GUID string."""
    return str(uuid.uuid4())


def new_platform_endpoint_id() -> str:
    """A GUID shaped like the real recording bot ids (``0x00yy80-...``, e.g. 04009880-5ddc-...)."""
    tail = str(uuid.uuid4())[8:]
    return f"0{secrets.randbelow(10)}00{secrets.token_hex(1)}80{tail}"


def new_server_call_id() -> str:
    """Padded standard base64 of a conversation URL, as in the captures."""
    conversation = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")
    ticks = _DOTNET_EPOCH_TICKS + time.time_ns() // 100
    url = (
        "https://api.flightproxy.skype.com/api/v2/cp/conv-local-01-emu-aks.conv.skype.com/conv/"
        f"{conversation}?i=10-128-0-1&e={ticks}"
    )
    return base64.b64encode(url.encode("ascii")).decode("ascii")


def encode_recording_id(platform_endpoint_id: str, resource_specific_id: str) -> str:
    """Unpadded base64 of ``{"PlatformEndpointId":...,"ResourceSpecificId":...}``.

    UNVERIFIED: whether the real ids use the standard or URL-safe alphabet cannot be told from the
    captures (their JSON never produced '+' or '/'); the URL-safe one keeps ids path-safe.
    """
    document = json.dumps(
        {"PlatformEndpointId": platform_endpoint_id, "ResourceSpecificId": resource_specific_id},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(document.encode("ascii")).decode("ascii").rstrip("=")


def decode_recording_id(recording_id: str) -> dict[str, str]:
    """Inverse of :func:`encode_recording_id`; raises ValueError for ids not of that shape."""
    padded = recording_id + "=" * (-len(recording_id) % 4)
    try:
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise ValueError("not a recording id") from exc
    if not isinstance(decoded, dict) or set(decoded) != {"PlatformEndpointId", "ResourceSpecificId"}:
        raise ValueError("not a recording id")
    return {str(k): str(v) for k, v in decoded.items()}


def new_recording_id() -> tuple[str, str]:
    """Return ``(recording_id, platform_endpoint_id)``; the latter is the bot's call connection id."""
    platform_endpoint_id = new_platform_endpoint_id()
    return encode_recording_id(platform_endpoint_id, new_guid()), platform_endpoint_id
