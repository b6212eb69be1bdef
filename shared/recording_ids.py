"""What identifies a recording here: its ACS id in one spelling, the name-safe key made from it, and
its archive's instance id.

One module, so every entrance (routes, file events, state callbacks, ACS's own answers) reads an id
the same way and the event that starts an archive and the route that reads it can never derive
different ids (if they did, `GET .../archive` would quietly answer 404).

Aliases: trailing `=` padding never changes what a base64 id decodes to, and ACS issues ids
without it, so `<id>`, `<id>=` and `<id>==` are one recording everywhere: the padding is dropped
at every entrance, before any lookup. The standard (`+/`) and URL-safe (`-_`) alphabets spell
different strings, and ACS compares ids as it issued them (UNVERIFIED whether it would also accept
the other spelling), so they are different recordings everywhere: the key keeps them apart.
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
# Keys made by hashing start with a character no readable key has (`~` is in neither alphabet).
HASHED_KEY_MARK: Final = "~"


def is_recording_id(value: object) -> bool:
    """Whether `value` has the shape of an ACS recording id (base64, `=` only as padding)."""
    return isinstance(value, str) and _RECORDING_ID.fullmatch(value) is not None


def canonical_recording_id(value: object) -> str | None:
    """The one spelling of a recording id (without `=` padding); None when `value` is not one."""
    return value.rstrip("=") if isinstance(value, str) and is_recording_id(value) else None


def recording_key(recording_id: str) -> str:
    """A name-safe key, one per recording: a standard-alphabet id with `+/` spelled `-_`; an id that
    uses the URL-safe `-_` itself (which would meet that spelling) or is too long, hashed."""
    canonical = recording_id.rstrip("=")
    key = canonical.replace("+", "-").replace("/", "_")
    if "-" in canonical or "_" in canonical or len(key) > _MAX_KEY:
        key = hashed_key(canonical)
    return key


def hashed_key(text: str) -> str:
    """A key for what cannot be spelled as one: `~` and the SHA-256 of `text`."""
    return HASHED_KEY_MARK + hashlib.sha256(text.encode()).hexdigest()


def instance_id_of_key(key: str) -> str:
    """The archive orchestration's id for a recording key (from an id, or from document ids)."""
    return f"archive-{key}"


def archive_instance_id(recording_id: str) -> str:
    """The archive orchestration's instance id for a recording (the same the event derives)."""
    return instance_id_of_key(recording_key(recording_id))


def checked_recording_id(value: str | None) -> str:
    """The route's `{recordingId}` in its one spelling, else 400 `InvalidRecordingId`."""
    canonical = canonical_recording_id(value)
    if canonical is None:
        raise bad_request(
            "The recording id is not a valid ACS recording id.", "recordingId", code="InvalidRecordingId"
        )
    return canonical
