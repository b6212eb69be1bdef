"""Deterministic, safe, date-partitioned blob names for archives.

Names are built only from validated parts (the base64url recording key, a checked document id,
an integer index, a fixed extension), never from raw event strings, and partitioned by the
recording's start date so lifecycle rules can age them out by prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from shared.times import as_utc, parse_time

# Content-location suffixes seen on real recording URLs -> (extension, content type).
_BY_SUFFIX: Final = {
    "audiowavmultichannel": ("wav", "audio/wav"),
    "audiowav": ("wav", "audio/wav"),
    "audiomp3": ("mp3", "audio/mpeg"),
    "video": ("mp4", "video/mp4"),
}
_BY_FORMAT: Final = {"wav": ("wav", "audio/wav"), "mp3": ("mp3", "audio/mpeg"), "mp4": ("mp4", "video/mp4")}
_UNKNOWN: Final = ("bin", "application/octet-stream")


@dataclass(frozen=True)
class MediaType:
    """The blob's extension and content type, from the chunk's URL or the recording's format."""

    extension: str
    content_type: str


def media_type(content_location: str, format_hint: str | None = None) -> MediaType:
    """Extension and content type from the URL's last segment, else the event's format."""
    suffix = urlsplit(content_location).path.rstrip("/").rsplit("/", 1)[-1].lower()
    extension, content_type = _BY_SUFFIX.get(suffix) or _BY_FORMAT.get(format_hint or "", _UNKNOWN)
    return MediaType(extension, content_type)


def recording_prefix(start_time: str, recording_key: str) -> str:
    """`{yyyy}/{mm}/{dd}/{recording}` from the recording's start time (UTC)."""
    return f"{as_utc(parse_time(start_time)):%Y/%m/%d}/{recording_key}"


def content_blob_name(prefix: str, index: int, document_id: str, extension: str) -> str:
    """`{prefix}/{index:03d}-{documentId}.{ext}`: sorted by index, unique per chunk, from validated parts."""
    return f"{prefix}/{index:03d}-{document_id}.{extension}"


def metadata_blob_name(prefix: str, index: int, document_id: str) -> str:
    """The chunk's ACS metadata document, beside its content."""
    return f"{prefix}/{index:03d}-{document_id}.metadata.json"


def manifest_blob_name(prefix: str) -> str:
    """One manifest per recording, rewritten as its archive progresses."""
    return f"{prefix}/manifest.json"


def event_blob_name(prefix: str) -> str:
    """The validated archive job, stored when its event arrives, so an archive can be re-run later."""
    return f"{prefix}/event.json"
