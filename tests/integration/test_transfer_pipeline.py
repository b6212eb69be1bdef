"""The ranged transfer's pipeline: hashing overlaps the downloads, memory stays in its pool."""

from __future__ import annotations

import gc
import hashlib
import time
import tracemalloc
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.acs_emulator import AcsEmulator
from shared.archive import transfer as transfer_module
from shared.archive.model import ChunkJob
from shared.archive.store import archive_container
from shared.archive.transfer import TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.errors import DownloadRefusedError, TransferError
from shared.settings import Settings
from tests.support.chunks import chunk_job, chunk_task

RANGE = 256 * 1024
PREFIX = "2026/11/24/pipeline-test"


@pytest.fixture
def chunk(app_settings: Settings, emulator: AcsEmulator) -> Iterator[tuple[ChunkJob, Any]]:
    """A stopped 10 s unmixed recording of four participants (1.28 MB, 5 ranges): one chunk."""
    call = emulator.create_call(participants=[f"8:acs:pipeline_{i}" for i in range(4)])
    recording = call_automation_client(app_settings.acs).start_recording(
        server_call_id=call.server_call_id,
        recording_channel_type="unmixed",
        recording_content_type="audio",
        recording_format_type="wav",
    )
    deadline = time.monotonic() + 5
    while emulator.recording(recording.recording_id).state != "active" and time.monotonic() < deadline:
        time.sleep(0.02)
    (source,) = emulator.stop_recording(recording.recording_id, duration_s=10).chunks
    with emulator.loopback_dns():
        yield chunk_job(source), source


def transfer(
    settings: Settings, job: ChunkJob, in_flight: int, prefix: str = PREFIX, range_bytes: int = RANGE
) -> Any:
    return archive_chunk(
        chunk_task(job, prefix),
        acs=call_automation_client(settings.acs),
        container=archive_container(settings),
        options=TransferOptions(range_bytes=range_bytes, in_flight=in_flight, single_put_bytes=0),
    )


def ranges_served(emulator: AcsEmulator) -> int:
    return sum(1 for r in emulator.requests if r.status == 206)


class _WaitingHash:
    """The transfer's sha256 (only transfer.py's name for hashlib is replaced, not the SDKs'):
    before hashing range k it waits, bounded, until range k + 1 has been served. Only a transfer
    that asks for the next range before hashing the oldest gets past it without waiting in vain."""

    def __init__(self, emulator: AcsEmulator, total_ranges: int) -> None:
        self._real = hashlib.sha256()
        self._emulator = emulator
        self._total = total_ranges
        self.hashed = 0
        self.waited_in_vain = 0

    def update(self, data: Any) -> None:
        wanted = min(self.hashed + 2, self._total)
        deadline = time.monotonic() + 2.0
        while ranges_served(self._emulator) < wanted:
            if time.monotonic() > deadline:
                self.waited_in_vain += 1
                break
            time.sleep(0.005)
        self._real.update(data)
        self.hashed += 1

    def hexdigest(self) -> str:
        return self._real.hexdigest()


def test_the_next_range_is_downloaded_while_the_oldest_is_hashed(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator, monkeypatch: Any
) -> None:
    job, source = chunk
    ranges = -(-source.content_length // RANGE)
    emulator.clear_requests()
    waiting = _WaitingHash(emulator, ranges)
    monkeypatch.setattr(transfer_module, "hashlib", SimpleNamespace(sha256=lambda: waiting))
    result = transfer(app_settings, job, in_flight=1)  # one download slot: hashing must not hold it
    assert (waiting.hashed, waiting.waited_in_vain) == (ranges, 0)
    assert result.archived.sha256 == source.content_sha256()


def test_ranged_reads_stay_within_in_flight_plus_one_ranges_of_memory(
    app_settings: Settings, chunk: tuple[ChunkJob, Any]
) -> None:
    job, source = chunk
    tracemalloc.start()
    try:
        transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-pool", range_bytes=64 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 3 pooled ranges plus the SDKs' own ~1.5 MB (the metadata's read among them); the whole
    # content would be 1.28 MB more than the ranges
    assert peak < (2 + 1) * 64 * 1024 + 1_500_000 < source.content_length + 1_500_000, f"peak {peak}"


def test_a_failing_hash_fails_the_chunk_instead_of_hanging(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], monkeypatch: Any
) -> None:
    job, _ = chunk

    class _Broken:
        def update(self, data: Any) -> None:
            raise TransferError("hashing failed")

    monkeypatch.setattr(transfer_module, "hashlib", SimpleNamespace(sha256=_Broken))
    started = time.monotonic()
    with pytest.raises(TransferError, match="hashing failed"):
        transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-broken")
    assert time.monotonic() - started < 10
    stored = [
        b.name for b in archive_container(app_settings).list_blobs(name_starts_with=f"{PREFIX}-broken/")
    ]
    assert [name for name in stored if not name.endswith(".metadata.json")] == []  # no content committed


def served_at(emulator: AcsEmulator, url: str) -> list[Any]:
    """When the emulator answered each request for this file (regional hop and 302 alike)."""
    path = urlsplit(url).path
    return sorted(r.at for r in emulator.requests if r.target.split("?", 1)[0] == path)


def test_the_metadata_document_is_fetched_while_the_content_streams(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.clear_requests()
    emulator.add_fault("latency", r"/acsmetadata", count=None, seconds=0.5)
    result = transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-overlap")
    content = served_at(emulator, job.content_location)
    metadata = served_at(emulator, job.metadata_location)
    assert content
    assert metadata
    assert content[0] < metadata[0]  # sequential, the content would wait for the slow metadata
    assert result.archived.sha256 == source.content_sha256()


def test_a_chunk_whose_metadata_failed_is_completed_by_its_retry_without_a_second_download(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.add_fault("status", r"/acsmetadata", count=None, status=503)
    with pytest.raises(DownloadRefusedError):
        transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-retry")
    emulator.clear_faults()
    emulator.clear_requests()
    retried = transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-retry")
    stored = archive_container(app_settings).get_blob_client(retried.archived.metadata_blob_name)
    assert stored.exists()
    assert (retried.skipped, retried.archived.sha256) == (True, source.content_sha256())
    assert served_at(emulator, job.content_location) == []


def test_a_chunk_smaller_than_a_range_costs_its_own_size_in_memory_not_a_range(
    app_settings: Settings, chunk: tuple[ChunkJob, Any]
) -> None:
    job, source = chunk
    defaults = TransferOptions()
    assert source.content_length < defaults.range_bytes // 4
    tracemalloc.start()
    try:
        archive_chunk(
            chunk_task(job, f"{PREFIX}-small"),
            acs=call_automation_client(app_settings.acs),
            container=archive_container(app_settings),
            options=defaults,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # its buffer, the `bytes` the blob SDK takes, the SDKs' own ~1.5 MB; a whole range would be 16 MiB
    assert peak < 2 * source.content_length + 1_500_000 < defaults.range_bytes, f"peak {peak}"


def test_a_finished_chunk_frees_its_buffers_without_waiting_for_the_garbage_collector(
    app_settings: Settings, chunk: tuple[ChunkJob, Any]
) -> None:
    # The SDK's 404 for a new blob's block list held our frames, and so the buffers, in a cycle:
    # chunk after chunk, a worker then held two chunks' buffers until the collector ran.
    job, _ = chunk
    transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-warm")  # clients, pools, caches
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        transfer(app_settings, job, in_flight=2, prefix=f"{PREFIX}-freed")
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    assert after - before < RANGE  # 3 buffers of RANGE were live during the transfer
