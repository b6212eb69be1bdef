"""What a stopped recording leaves behind: chunked content files and one metadata document each.

Built from a recording snapshot when it stops (API stop or call end). Only descriptors are kept:
content bytes come from :mod:`.media` streams on demand, so the store costs almost no memory.

Duration: by default the recorded media lasts as long as the recording was *active* (wall clock
between the bot joining and the stop, minus paused intervals). Tests override it with a
:class:`TimelineOverride`: ``duration_s`` of recorded media (pauses excluded) and ``pauses`` as
``(offset_s, length_s)`` pairs where ``offset_s`` is the position in the *recorded media* at which
the pause began. Wall-clock times in metadata and events are derived from that timeline.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from . import media
from .media import BytesContent, Content, PeriodicContent, Tile
from .schema import ChannelAssignment, validate_start_request
from .state import Call, RecordingSnapshot

MAX_AUDIO_CHANNELS = 5
# UNVERIFIED: the real service's chunk size limit is not documented (docs only say a chunk lasts at
# most 4 hours). 2 GiB keeps every WAV chunk far below the 4 GiB RIFF limit.
DEFAULT_MAX_CHUNK_BYTES = 2 * 1024 * 1024 * 1024
MIN_CHUNK_BYTES = 4096

# contentLocation suffixes seen in real URLs (recording-result.get.real-2025-08-15-preview.json).
SUFFIX_UNMIXED_WAV = "audiowavmultichannel"
SUFFIX_MP3 = "audiomp3"
SUFFIX_VIDEO = "video"
SUFFIX_METADATA = "acsmetadata"
# UNVERIFIED: no capture of a mixed WAV recording's contentLocation; "audiowav" is a guess.
SUFFIX_MIXED_WAV = "audiowav"

END_REASON_SIZE = "ChunkMaximumSizeExceeded"
END_REASON_LAST = "SessionEnded"


def format_time(moment: datetime) -> str:
    """``2021-07-27T15:20:23.6089755Z``: seven fractional digits and ``Z`` like the captures."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def new_document_id() -> str:
    """``0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8``: region, shard, 32 hex digits."""
    return f"0-eus-d{1 + secrets.randbelow(20)}-{secrets.token_hex(16)}"


# -- timeline --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimelineOverride:
    """Exact recorded duration and pauses for a recording, instead of the wall clock."""

    duration_s: float
    pauses: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if not math.isfinite(self.duration_s) or self.duration_s < 0:
            raise ValueError("duration_s must be a finite number >= 0")
        for offset, length in self.pauses:
            if not (0 <= offset <= self.duration_s) or length < 0:
                raise ValueError("each pause is (offset_s within the duration, length_s >= 0)")

    @classmethod
    def of(cls, duration_s: float, pauses: Sequence[Sequence[float]] = ()) -> TimelineOverride:
        return cls(float(duration_s), tuple(sorted((float(p[0]), float(p[1])) for p in pauses)))


@dataclass(frozen=True)
class Timeline:
    """Recorded media of ``duration_s`` starting at ``start``, interrupted by ``pauses``."""

    start: datetime
    duration_s: float
    pauses: tuple[tuple[float, float], ...]

    @classmethod
    def from_snapshot(cls, snapshot: RecordingSnapshot, override: TimelineOverride | None) -> Timeline:
        start = snapshot.activated_at or snapshot.started_at
        if override is not None:
            return cls(start, override.duration_s, override.pauses)
        if snapshot.activated_at is None or snapshot.stopped_at is None:
            return cls(start, 0.0, ())  # the bot never joined: nothing was recorded
        pauses: list[tuple[float, float]] = []
        paused_total = 0.0
        for began, ended in snapshot.pause_intervals:
            length = ((ended or snapshot.stopped_at) - began).total_seconds()
            pauses.append(((began - start).total_seconds() - paused_total, length))
            paused_total += length
        duration = (snapshot.stopped_at - start).total_seconds() - paused_total
        return cls(start, max(0.0, duration), tuple(pauses))

    def wall(self, offset_s: float, *, after_pauses_at_offset: bool) -> datetime:
        """Wall-clock time at a media offset; pauses starting exactly there count if asked."""
        paused = sum(
            length
            for at, length in self.pauses
            if at < offset_s or (after_pauses_at_offset and at == offset_s)
        )
        return self.start + timedelta(seconds=offset_s + paused)

    @property
    def duration_ms(self) -> int:
        return round(self.duration_s * 1000)


# -- channels ---------------------------------------------------------------------------------------
def assign_channels(
    participants: Sequence[str],
    ordering: Sequence[str] = (),
    affinity: Sequence[ChannelAssignment] = (),
    max_channels: int = MAX_AUDIO_CHANNELS,
) -> list[tuple[str, int | None]]:
    """Channel per participant for unmixed audio, in channel order, then unassigned participants.

    Explicit ``channelAffinity`` channels first, then affinity entries without a channel and
    ``audioChannelParticipantOrdering`` take the lowest free channels, then the remaining call
    participants in call order. UNVERIFIED: participants beyond the fifth channel get no channel
    (the real service's handling of more than 5 unmixed participants is not documented here).
    """
    assigned: dict[str, int] = {}
    for entry in affinity:
        if entry.channel is not None and entry.participant not in assigned:
            assigned[entry.participant] = entry.channel
    queue = [a.participant for a in affinity if a.channel is None] + list(ordering) + list(participants)
    for raw in queue:
        if raw in assigned:
            continue
        free = next((c for c in range(max_channels) if c not in assigned.values()), None)
        if free is None:
            break
        assigned[raw] = free
    result: list[tuple[str, int | None]] = [
        (raw, channel) for raw, channel in sorted(assigned.items(), key=lambda item: item[1])
    ]
    result.extend((raw, None) for raw in participants if raw not in assigned)
    return result


# -- files ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordingChunk:
    """One chunk: a content file and its metadata document under one document id."""

    document_id: str
    index: int
    end_reason: str
    content_location: str
    metadata_location: str
    delete_location: str
    content_suffix: str
    content: Content
    metadata_content: BytesContent
    start_time: datetime
    duration_ms: int

    @property
    def content_length(self) -> int:
        return self.content.length

    @property
    def end_time(self) -> datetime:
        return self.start_time + timedelta(milliseconds=self.duration_ms)

    def content_sha256(self) -> str:
        """Hex SHA-256 of the content file (streamed once on first call, then cached)."""
        return self.content.sha256()

    def read(self, start: int = 0, stop: int | None = None) -> bytes:
        """Bytes of the content file (for small files in tests; large ones: ``content.iter_range``)."""
        return self.content.read(start, stop)

    @property
    def metadata(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.metadata_content.data)
        return result

    def storage_info(self) -> dict[str, Any]:
        """The chunk as in ``recordingStorageInfo.recordingChunks`` (key order as in the docs)."""
        return {
            "documentId": self.document_id,
            "index": self.index,
            "endReason": self.end_reason,
            "contentLocation": self.content_location,
            "metadataLocation": self.metadata_location,
            "deleteLocation": self.delete_location,
        }

    def to_dict(self, *, with_hash: bool = False) -> dict[str, Any]:
        result = {
            **self.storage_info(),
            "contentLength": self.content_length,
            "metadataLength": self.metadata_content.length,
            "durationMs": self.duration_ms,
        }
        if with_hash:
            result["contentSha256"] = self.content_sha256()
        return result


@dataclass(frozen=True)
class RecordingFiles:
    """Every chunk of one stopped recording plus what the file status event reports."""

    recording_id: str
    server_call_id: str
    call_id: str
    content_type: str
    channel_type: str
    format_type: str
    channels: int
    participants: tuple[tuple[str, int | None], ...]
    timeline: Timeline
    session_end_reason: str
    chunks: tuple[RecordingChunk, ...] = field(default_factory=tuple)

    @property
    def duration_ms(self) -> int:
        return self.timeline.duration_ms

    def to_dict(self, *, with_hash: bool = False) -> dict[str, Any]:
        return {
            "recordingId": self.recording_id,
            "serverCallId": self.server_call_id,
            "callId": self.call_id,
            "recordingStartTime": format_time(self.timeline.start),
            "recordingDurationMs": self.duration_ms,
            "sessionEndReason": self.session_end_reason,
            "channels": self.channels,
            "chunks": [c.to_dict(with_hash=with_hash) for c in self.chunks],
        }


@dataclass(frozen=True)
class _Layout:
    """How one format maps media time to bytes: fixed-size units, a header, a tile."""

    suffix: str
    unit_bytes: int
    units_per_second: float
    header_bytes: int
    tile: Tile
    channels: int
    bit_rate: int

    def header(self, units: int) -> bytes:
        if self.suffix in (SUFFIX_UNMIXED_WAV, SUFFIX_MIXED_WAV):
            return media.wav_header(self.channels, units)
        if self.suffix == SUFFIX_MP3:
            return media.ID3_HEADER
        return media.mp4_header(units * self.unit_bytes)

    def units(self, seconds: float) -> int:
        exact = seconds * self.units_per_second
        # MP3 frames (36 ms) cannot be split: a partial frame still produces a frame.
        return math.ceil(exact - 1e-9) if self.suffix == SUFFIX_MP3 else round(exact)


def _layout(format_type: str, channel_type: str, channel_tones: tuple[bool, ...]) -> _Layout:
    if format_type == "wav":
        mixed = channel_type != "unmixed"
        channels = 1 if mixed else len(channel_tones)
        return _Layout(
            suffix=SUFFIX_MIXED_WAV if mixed else SUFFIX_UNMIXED_WAV,
            unit_bytes=channels * media.SAMPLE_BYTES,
            units_per_second=media.SAMPLE_RATE,
            header_bytes=media.WAV_HEADER_BYTES,
            tile=media.wav_tile(channel_tones, mixed=mixed),
            channels=channels,
            bit_rate=media.SAMPLE_RATE * media.SAMPLE_BYTES * 8 * channels,
        )
    if format_type == "mp3":
        return _Layout(
            suffix=SUFFIX_MP3,
            unit_bytes=media.MP3_FRAME_BYTES,
            units_per_second=1000 / media.MP3_FRAME_MS,
            header_bytes=len(media.ID3_HEADER),
            tile=media.mp3_tile(),
            channels=1,
            bit_rate=media.MP3_BIT_RATE,
        )
    return _Layout(
        suffix=SUFFIX_VIDEO,
        unit_bytes=media.MP4_BYTES_PER_MS,
        units_per_second=1000,
        header_bytes=media.MP4_HEADER_BYTES,
        tile=media.mp4_tile(),
        channels=1,
        bit_rate=media.MP4_AUDIO_BIT_RATE,
    )


def build_recording_files(
    snapshot: RecordingSnapshot,
    call: Call,
    *,
    resource_id: str,
    base_url: str,
    max_chunk_bytes: int,
    override: TimelineOverride | None = None,
) -> RecordingFiles:
    """Plan the chunks of a stopped recording; no content bytes are produced here."""
    options = validate_start_request(snapshot.options)
    timeline = Timeline.from_snapshot(snapshot, override)
    if snapshot.channel_type == "unmixed":
        participants = tuple(
            assign_channels(call.participants, options.participant_ordering, options.channel_affinity)
        )
        used = {channel for _, channel in participants if channel is not None}
        channel_tones = tuple(c in used for c in range(max(used, default=0) + 1))
    else:
        participants = tuple((raw, None) for raw in call.participants)
        channel_tones = tuple(True for _ in call.participants[:MAX_AUDIO_CHANNELS]) or (True,)
    layout = _layout(snapshot.format_type, snapshot.channel_type, channel_tones)
    # UNVERIFIED: sessionEndReason for an API stop; "CallEnded" is the documented example value.
    end_reason = "CallEnded" if snapshot.stop_reason == "callEnded" else "StopRequested"
    files = RecordingFiles(
        recording_id=snapshot.recording_id,
        server_call_id=snapshot.server_call_id,
        call_id=call.group_call_id,
        content_type=snapshot.content_type,
        channel_type=snapshot.channel_type,
        format_type=snapshot.format_type,
        channels=layout.channels,
        participants=participants,
        timeline=timeline,
        session_end_reason=end_reason,
    )
    total_units = layout.units(timeline.duration_s)
    if total_units == 0:
        return files  # nothing recorded: no chunks (UNVERIFIED whether the service reports empty files)
    per_chunk = (max_chunk_bytes - layout.header_bytes) // layout.unit_bytes
    if per_chunk < 1:
        raise ValueError("max_chunk_bytes is smaller than one unit of this format")
    chunks: list[RecordingChunk] = []
    start_unit = 0
    while start_unit < total_units:
        units = min(per_chunk, total_units - start_unit)
        last = start_unit + units >= total_units
        chunks.append(
            _chunk(
                files, layout, len(chunks), start_unit, units, last, resource_id=resource_id, base=base_url
            )
        )
        start_unit += units
    return _with_chunks(files, tuple(chunks))


def _with_chunks(files: RecordingFiles, chunks: tuple[RecordingChunk, ...]) -> RecordingFiles:
    return RecordingFiles(**{**files.__dict__, "chunks": chunks})


def _chunk(
    files: RecordingFiles,
    layout: _Layout,
    index: int,
    start_unit: int,
    units: int,
    last: bool,
    *,
    resource_id: str,
    base: str,
) -> RecordingChunk:
    timeline = files.timeline
    begin_s = start_unit / layout.units_per_second
    end_s = (start_unit + units) / layout.units_per_second
    start_time = timeline.wall(begin_s, after_pauses_at_offset=index > 0)
    duration_ms = round((end_s - begin_s) * 1000)
    pauses = [
        {
            "startTime": format_time(timeline.wall(at, after_pauses_at_offset=False)),
            "duration": round(length * 1000),
        }
        for at, length in timeline.pauses
        if begin_s <= at < end_s or (last and at >= end_s)
    ]
    document_id = new_document_id()
    content = PeriodicContent(
        layout.header(units), layout.tile, units * layout.unit_bytes, phase=start_unit * layout.unit_bytes
    )
    audio = {"sampleRate": media.SAMPLE_RATE, "bitRate": layout.bit_rate, "channels": layout.channels}
    recording_info: dict[str, Any] = {
        "contentType": files.content_type,
        "channelType": files.channel_type,
        "format": files.format_type,
        "audioConfiguration": audio,
    }
    if files.format_type == "mp4":
        # As in the captured 2022 audioVideo metadata (recording-metadata.real.json, example A).
        recording_info["videoConfiguration"] = {
            "longerSideLength": 1920,
            "shorterSideLength": 1080,
            "framerate": 15,
            "bitRate": media.MP4_VIDEO_BIT_RATE,
        }
    unmixed = files.channel_type == "unmixed"
    participants = [
        {"participantId": raw, "channel": channel}
        if unmixed and channel is not None
        else {"participantId": raw}
        for raw, channel in files.participants
    ]
    metadata = {
        "resourceId": resource_id,
        "callId": files.call_id,
        "chunkDocumentId": document_id,
        "chunkIndex": index,
        "chunkStartTime": format_time(start_time),
        # UNVERIFIED: whether chunkDuration includes paused time; here it is recorded media only.
        "chunkDuration": duration_ms,
        "pauseResumeIntervals": pauses,
        "recordingInfo": recording_info,
        "participants": participants,
    }
    object_url = f"{base}/v1/objects/{document_id}"
    return RecordingChunk(
        document_id=document_id,
        index=index,
        end_reason=END_REASON_LAST if last else END_REASON_SIZE,
        content_location=f"{object_url}/content/{layout.suffix}",
        metadata_location=f"{object_url}/content/{SUFFIX_METADATA}",
        delete_location=object_url,
        content_suffix=layout.suffix,
        content=content,
        metadata_content=BytesContent(json.dumps(metadata, separators=(",", ":")).encode("utf-8")),
        start_time=start_time,
        duration_ms=duration_ms,
    )


class DocumentNotFoundError(Exception):
    """Unknown or deleted document id."""


class ContentStore:
    """Recording files by recording id and document id; deletion is per document."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, RecordingFiles] = {}
        self._documents: dict[str, RecordingChunk] = {}
        self._deleted: set[str] = set()

    def add(self, files: RecordingFiles) -> None:
        with self._lock:
            self._files[files.recording_id] = files
            for chunk in files.chunks:
                self._documents[chunk.document_id] = chunk

    def files(self, recording_id: str) -> RecordingFiles:
        with self._lock:
            return self._files[recording_id]

    def document(self, document_id: str) -> RecordingChunk:
        with self._lock:
            chunk = self._documents.get(document_id)
            if chunk is None or document_id in self._deleted:
                raise DocumentNotFoundError(document_id)
            return chunk

    def replace_metadata(self, document_id: str, body: bytes) -> None:
        """Serve `body` as this document's metadata from now on (a malformed document, for tests)."""
        with self._lock:
            chunk = self._documents[document_id]
            self._documents[document_id] = replace(chunk, metadata_content=BytesContent(body))

    def delete(self, document_id: str) -> None:
        with self._lock:
            if document_id not in self._documents or document_id in self._deleted:
                raise DocumentNotFoundError(document_id)
            self._deleted.add(document_id)

    def is_deleted(self, document_id: str) -> bool:
        with self._lock:
            return document_id in self._deleted
