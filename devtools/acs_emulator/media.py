"""Recording file bytes as deterministic, random-access streams (no file is ever materialised).

Every content file is ``header + payload`` where the payload repeats a short *period* of bytes. A
period is rendered once per format/channel layout into a *tile* (the period repeated to cover one
piece plus one period), so any byte range is served as a few ``memoryview`` slices of the tile:
a multi-GiB recording costs a few hundred KiB of memory and no per-request sample generation.

Formats:

* WAV: real 16 kHz 16-bit PCM with a canonical 44-byte RIFF header (stdlib ``wave`` reads it);
  each channel carries its own tone (channel ``c`` at ``200 * (c + 1)`` Hz, every tone completes a
  whole number of cycles per period, so the repetition is seamless). Gap channels are silent.
* MP3: SYNTHETIC. An empty ID3v2.4 tag followed by MPEG-2 Layer III frame headers (frame sync
  ``FF F3``, 128 kbit/s, 16 kHz, mono; 576-byte frames of 36 ms) whose bodies are filler bytes.
  The magic numbers and frame lengths are right, the audio is not decodable.
* MP4: SYNTHETIC. An ``ftyp`` box (``isom``) and one 64-bit ``mdat`` box of filler bytes at the
  bit rate of the captured metadata (1 Mbit/s video + 128 kbit/s audio). There is no ``moov`` box,
  so players will not open it; sniffers and archivers see a plausible MP4.
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

SAMPLE_RATE = 16_000
SAMPLE_BYTES = 2
PIECE_BYTES = 256 * 1024  # largest slice handed to the socket in one write
WAV_HEADER_BYTES = 44
WAV_MAX_BYTES = 0xFFFF_FFFF  # RIFF sizes are 32-bit
_PERIOD_FRAMES = 1600  # 100 ms: 200*(c+1) Hz tones complete 20*(c+1) cycles per period
_AMPLITUDE = 0.25 * 32767

MP3_FRAME_HEADER = b"\xff\xf3\xc8\xc0"  # MPEG-2, Layer III, no CRC, 128 kbit/s, 16 kHz, mono
MP3_FRAME_BYTES = 576  # 72 * 128000 / 16000
MP3_FRAME_MS = 36  # 576 samples at 16 kHz
ID3_HEADER = b"ID3\x04\x00\x00\x00\x00\x00\x00"  # ID3v2.4, no flags, empty tag
MP3_BIT_RATE = 128_000

MP4_FTYP = struct.pack(">I4s4sI4s4s4s4s", 32, b"ftyp", b"isom", 0x200, b"isom", b"iso2", b"avc1", b"mp41")
MP4_BYTES_PER_MS = 141  # (1_000_000 + 128_000) bit/s / 8 / 1000
MP4_AUDIO_BIT_RATE = 128_000
MP4_VIDEO_BIT_RATE = 1_000_000


class Content(Protocol):
    """What the download route needs from any served file."""

    @property
    def length(self) -> int: ...

    def iter_range(self, start: int, stop: int, piece: int = PIECE_BYTES) -> Iterator[bytes | memoryview]: ...

    def read(self, start: int = 0, stop: int | None = None) -> bytes: ...

    def sha256(self) -> str: ...


class _HashCache:
    """Hash once on demand (streaming), then remember; safe if many threads ask at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digest: str | None = None

    def get(self, content: Content) -> str:
        with self._lock:
            if self._digest is None:
                digest = hashlib.sha256()
                for piece in content.iter_range(0, content.length, 1024 * 1024):
                    digest.update(piece)
                self._digest = digest.hexdigest()
            return self._digest


class BytesContent:
    """Small files held in memory (metadata documents)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._hash = _HashCache()

    @property
    def length(self) -> int:
        return len(self.data)

    def iter_range(self, start: int, stop: int, piece: int = PIECE_BYTES) -> Iterator[bytes | memoryview]:
        view = memoryview(self.data)
        for offset in range(start, min(stop, len(self.data)), piece):
            yield view[offset : min(offset + piece, stop)]

    def read(self, start: int = 0, stop: int | None = None) -> bytes:
        return self.data[start:stop]

    def sha256(self) -> str:
        return self._hash.get(self)


@dataclass(frozen=True)
class Tile:
    """A period of payload bytes repeated so any ``PIECE_BYTES`` window is one contiguous slice."""

    period: int
    view: memoryview

    @classmethod
    def of(cls, period: bytes) -> Tile:
        repeats = math.ceil((PIECE_BYTES + len(period)) / len(period))
        return cls(period=len(period), view=memoryview(period * repeats))


class PeriodicContent:
    """``header`` followed by ``payload_length`` bytes of the tile's period, starting at ``phase``.

    ``phase`` lets consecutive chunks continue the same stream (chunk k starts where chunk k-1's
    payload ended), so concatenated chunk payloads equal one uninterrupted recording.
    """

    def __init__(self, header: bytes, tile: Tile, payload_length: int, phase: int = 0) -> None:
        self.header = header
        self.tile = tile
        self.payload_length = payload_length
        self.phase = phase % tile.period
        self._hash = _HashCache()

    @property
    def length(self) -> int:
        return len(self.header) + self.payload_length

    def iter_range(self, start: int, stop: int, piece: int = PIECE_BYTES) -> Iterator[bytes | memoryview]:
        """Yield the bytes ``[start, stop)`` in slices of at most ``piece`` bytes."""
        piece = max(1, min(piece, PIECE_BYTES))
        stop = min(stop, self.length)
        header_len = len(self.header)
        if start < header_len:
            end = min(stop, header_len)
            yield self.header[start:end]
            start = end
        position = start - header_len
        end_position = stop - header_len
        period = self.tile.period
        view = self.tile.view
        while position < end_position:
            count = min(piece, end_position - position)
            offset = (position + self.phase) % period
            yield view[offset : offset + count]
            position += count

    def read(self, start: int = 0, stop: int | None = None) -> bytes:
        return b"".join(bytes(p) for p in self.iter_range(start, self.length if stop is None else stop))

    def sha256(self) -> str:
        return self._hash.get(self)


# -- format builders --------------------------------------------------------------------------------
def _le_samples(samples: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@lru_cache(maxsize=64)
def wav_tile(channel_tones: tuple[bool, ...], mixed: bool = False) -> Tile:
    """One 100 ms period: interleaved channels, tone per channel (``False`` = silent channel).

    ``mixed`` renders a single channel holding the average of the tones (a mono mix).
    """
    samples = array("h")
    tones = [c for c, on in enumerate(channel_tones) if on]
    for frame in range(_PERIOD_FRAMES):
        t = frame / SAMPLE_RATE
        values = [
            math.sin(2 * math.pi * 200 * (c + 1) * t) if on else 0.0 for c, on in enumerate(channel_tones)
        ]
        if mixed:
            samples.append(round(_AMPLITUDE * sum(values) / max(1, len(tones))))
        else:
            samples.extend(round(_AMPLITUDE * v) for v in values)
    return Tile.of(_le_samples(samples))


def wav_header(channels: int, frames: int) -> bytes:
    """Canonical PCM RIFF/WAVE header for ``frames`` frames of 16-bit 16 kHz audio."""
    block_align = channels * SAMPLE_BYTES
    data_size = frames * block_align
    if WAV_HEADER_BYTES - 8 + data_size > WAV_MAX_BYTES:
        raise ValueError("a WAV file cannot exceed 4 GiB; lower the chunk size")
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        SAMPLE_RATE,
        SAMPLE_RATE * block_align,
        block_align,
        SAMPLE_BYTES * 8,
        b"data",
        data_size,
    )


@lru_cache(maxsize=1)
def mp3_tile() -> Tile:
    body = hashlib.shake_256(b"acs-emulator-mp3").digest(MP3_FRAME_BYTES - len(MP3_FRAME_HEADER))
    return Tile.of(MP3_FRAME_HEADER + body)


@lru_cache(maxsize=1)
def mp4_tile() -> Tile:
    return Tile.of(hashlib.shake_256(b"acs-emulator-mp4").digest(4096))


def mp4_header(payload_length: int) -> bytes:
    """``ftyp`` box, then a ``mdat`` box header with a 64-bit size (size field 1 + largesize)."""
    return MP4_FTYP + struct.pack(">I4sQ", 1, b"mdat", 16 + payload_length)


MP4_HEADER_BYTES = len(MP4_FTYP) + 16
