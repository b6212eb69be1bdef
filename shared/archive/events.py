"""RecordingFileStatusUpdated events -> validated archive jobs (shared.archive.model; pure, no I/O).

Event Grid delivers at least once, in any order, possibly forged if the endpoint leaks: every
field used later is validated here, and a bad event is rejected as a whole, before any request.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from shared.archive.blob_layout import recording_prefix
from shared.archive.model import ArchiveJob, ChunkJob
from shared.errors import InvalidEventError
from shared.recording_hosts import recording_url_problem
from shared.recording_ids import canonical_recording_id, hashed_key, recording_key
from shared.times import as_utc, parse_time

EVENT_TYPE: Final = "Microsoft.Communication.RecordingFileStatusUpdated"
MAX_CHUNKS: Final = 1000
_DOCUMENT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
_SAFE_TEXT: Final = re.compile(r"^[A-Za-z0-9 ._-]{0,64}$")
_SUBJECT_KEYS: Final = frozenset({"call", "serverCallId", "recordingId"})


def parse_archive_event(
    *, event_type: str, subject: str, event_id: str, event_time: datetime | str | None, data: object
) -> ArchiveJob:
    """Validate one RecordingFileStatusUpdated event (Event Grid or CloudEvents schema)."""
    if event_type != EVENT_TYPE:
        raise InvalidEventError(f"not a {EVENT_TYPE} event")
    if not isinstance(data, dict):
        raise InvalidEventError("data must be an object")
    storage = data.get("recordingStorageInfo")
    raw_chunks = storage.get("recordingChunks") if isinstance(storage, dict) else None
    if not isinstance(raw_chunks, list) or not raw_chunks:
        raise InvalidEventError("data.recordingStorageInfo.recordingChunks must be a non-empty array")
    if len(raw_chunks) > MAX_CHUNKS:
        raise InvalidEventError(f"more than {MAX_CHUNKS} chunks")
    chunks = tuple(sorted((_chunk(item, i) for i, item in enumerate(raw_chunks)), key=lambda c: c.index))
    if len({c.index for c in chunks}) != len(chunks) or len({c.document_id for c in chunks}) != len(chunks):
        raise InvalidEventError("chunk indexes and document ids must be unique")
    subject_parts = _subject_parts(subject)
    raw_id = subject_parts.get("recordingId")
    recording_id = canonical_recording_id(raw_id)
    if raw_id is not None and recording_id is None:
        raise InvalidEventError("the subject's recording id is malformed")
    when = _event_time(event_time)
    start_time = _start_time(data.get("recordingStartTime"), when)
    key = recording_key(recording_id) if recording_id else _documents_key(chunks)
    return ArchiveJob(
        recording_key=key,
        recording_id=recording_id,
        server_call_id=subject_parts.get("serverCallId"),
        event_id=_text(event_id, "id", 128),
        event_time=when,
        start_time=start_time,
        duration_ms=_optional_int(data.get("recordingDurationMs"), "recordingDurationMs"),
        session_end_reason=_safe(data.get("sessionEndReason"), "sessionEndReason"),
        format_hint=_safe(data.get("recordingFormatType"), "recordingFormatType").lower() or None,
        prefix=recording_prefix(start_time, key),
        chunks=chunks,
    )


def _chunk(item: object, position: int) -> ChunkJob:
    where = f"recordingChunks[{position}]"
    if not isinstance(item, dict):
        raise InvalidEventError(f"{where} must be an object")
    document_id = item.get("documentId")
    if not isinstance(document_id, str) or not _DOCUMENT_ID.fullmatch(document_id):
        raise InvalidEventError(f"{where}.documentId is malformed")
    index = item.get("index")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_CHUNKS:
        raise InvalidEventError(f"{where}.index must be an integer from 0 to {MAX_CHUNKS - 1}")
    urls: dict[str, str | None] = {}
    for name in ("contentLocation", "metadataLocation", "deleteLocation"):
        value = item.get(name)
        if value is None and name == "deleteLocation":
            urls[name] = None  # absent in some event versions; deletion is then not possible
            continue
        problem = recording_url_problem(value)
        if problem is not None:
            raise InvalidEventError(f"{where}.{name} {problem}")
        urls[name] = str(value)
    return ChunkJob(
        index=index,
        document_id=document_id,
        content_location=str(urls["contentLocation"]),
        metadata_location=str(urls["metadataLocation"]),
        delete_location=urls["deleteLocation"],
        end_reason=_safe(item.get("endReason"), f"{where}.endReason"),
    )


def _subject_parts(subject: str) -> dict[str, str]:
    """`/recording/call/{c}/serverCallId/{s}/recordingId/{r}` -> {"call": c, "serverCallId": s, ...}.

    Parsed by keyword, not by pairs: a serverCallId is standard base64 and may contain '/'.
    """
    if not isinstance(subject, str) or len(subject) > 4096:
        raise InvalidEventError("subject must be a string")
    segments = [s for s in subject.split("/") if s]
    keys = [i for i, segment in enumerate(segments) if segment in _SUBJECT_KEYS]
    parts: dict[str, str] = {}
    for position, index in enumerate(keys):
        stop = keys[position + 1] if position + 1 < len(keys) else len(segments)
        if index + 1 < stop:
            parts[segments[index]] = "/".join(segments[index + 1 : stop])
    return parts


def _documents_key(chunks: tuple[ChunkJob, ...]) -> str:
    """The key of a recording the event does not name: a hash of its chunks' document ids."""
    return hashed_key("documents:" + "\n".join(c.document_id for c in chunks))


def _event_time(value: datetime | str | None) -> str:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, str) and value:
        return _start_time(value, None)
    raise InvalidEventError("the event has no time")


def _start_time(value: object, fallback: str | None) -> str:
    if value is None and fallback is not None:
        return fallback
    if not isinstance(value, str):
        raise InvalidEventError("recordingStartTime must be an ISO 8601 time")
    try:
        moment = parse_time(value)
    except ValueError:
        raise InvalidEventError("recordingStartTime must be an ISO 8601 time") from None
    return as_utc(moment).isoformat()


def _optional_int(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidEventError(f"{name} must be a non-negative integer")
    return value


def _safe(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _SAFE_TEXT.fullmatch(value):
        raise InvalidEventError(f"{name} must be a short plain word")
    return value


def _text(value: object, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidEventError(f"{name} must be a non-empty string")
    return value
