"""What identifies a recording here: its ACS id, the name-safe key made from it, its archive's id.

One module, so the event that starts an archive and the route that reads it can never derive
different ids (if they did, `GET .../archive` would quietly answer 404).
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from shared.errors import bad_request

# Real ids are unpadded base64 of a small JSON document; allow the base64 and base64url alphabets,
# with `=` only as trailing padding.
_RECORDING_ID: Final = re.compile(r"^[A-Za-z0-9+/_-]{1,1024}={0,2}$")
_MAX_KEY: Final = 200


def is_recording_id(value: object) -> bool:
    """Whether `value` has the shape of an ACS recording id (base64, `=` only as padding)."""
    return isinstance(value, str) and _RECORDING_ID.fullmatch(value) is not None


def recording_key(recording_id: str) -> str:
    """A name-safe form of a recording id (base64url without padding; hashed when too long)."""
    key = recording_id.replace("+", "-").replace("/", "_").rstrip("=")
    if len(key) > _MAX_KEY:
        key = "h" + hashlib.sha256(recording_id.encode()).hexdigest()
    return key


def instance_id_of_key(key: str) -> str:
    """The archive orchestration's id for a recording key (from an id, or from document ids)."""
    return f"archive-{key}"


def archive_instance_id(recording_id: str) -> str:
    """The archive orchestration's instance id for a recording (the same the event derives)."""
    return instance_id_of_key(recording_key(recording_id))


def checked_recording_id(value: str | None) -> str:
    """The route's `{recordingId}` if it has an ACS id's shape, else 400 `InvalidRecordingId`."""
    if not value or not is_recording_id(value):
        raise bad_request(
            "The recording id is not a valid ACS recording id.", "recordingId", code="InvalidRecordingId"
        )
    return value
