"""The chunk transfer against real Azurite and the emulator: crashes, faults, idempotence."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from devtools.acs_emulator import AcsEmulator
from shared.archive.model import ChunkJob
from shared.archive.store import archive_container
from shared.archive.transfer import ChunkOutcome, TransferOptions, archive_chunk
from shared.clients import call_automation_client
from shared.errors import DownloadRefusedError, UntrustedHostError
from shared.settings import Settings
from tests.support.chunks import chunk_job, chunk_task

REPO = Path(__file__).resolve().parents[2]
RANGE = 256 * 1024
PREFIX = "2026/11/24/transfer-test"


@pytest.fixture
def chunk(app_settings: Settings, emulator: AcsEmulator) -> Iterator[tuple[ChunkJob, Any]]:
    """A stopped 30 s unmixed recording of four participants (3.84 MB): one chunk."""
    call = emulator.create_call(participants=[f"8:acs:transfer_{i}" for i in range(4)])
    client = call_automation_client(app_settings.acs)
    recording = client.start_recording(
        server_call_id=call.server_call_id,
        recording_channel_type="unmixed",
        recording_content_type="audio",
        recording_format_type="wav",
    )
    deadline = time.monotonic() + 5
    while emulator.recording(recording.recording_id).state != "active" and time.monotonic() < deadline:
        time.sleep(0.02)
    files = emulator.stop_recording(recording.recording_id, duration_s=30)
    (source,) = files.chunks
    job = chunk_job(source)
    with emulator.loopback_dns():
        yield job, source
    emulator.clear_faults()


def transfer(settings: Settings, job: ChunkJob, **options: Any) -> ChunkOutcome:
    return archive_chunk(
        chunk_task(job, PREFIX),
        acs=call_automation_client(settings.acs),
        container=archive_container(settings),
        # staged blocks unless a test asks otherwise: most of these tests are about ranges and blocks
        options=TransferOptions(**{"range_bytes": RANGE, "in_flight": 2, "single_put_bytes": 0, **options}),
    )


def blob_sha256(container: ContainerClient, name: str) -> str:
    return hashlib.sha256(container.download_blob(name).readall()).hexdigest()


def test_archived_bytes_equal_the_source_and_metadata_records_the_hash(
    app_settings: Settings, chunk: tuple[ChunkJob, Any]
) -> None:
    job, source = chunk
    result = transfer(app_settings, job)
    container = archive_container(app_settings)
    properties = container.get_blob_client(result.archived.blob_name).get_blob_properties()
    assert (
        result.archived.sha256 == source.content_sha256() == blob_sha256(container, result.archived.blob_name)
    )
    assert properties.metadata["sha256"] == result.archived.sha256
    assert int(properties.metadata["size"]) == properties.size == source.content_length
    assert properties.content_settings.content_type == "audio/wav"


def test_downloads_follow_the_recording_hosts_redirect_and_send_it_no_credential(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.clear_requests()
    assert transfer(app_settings, job).archived.sha256 == source.content_sha256()
    regional = [r for r in emulator.requests if r.headers.get("host") == emulator.regional_content_host]
    assert regional, "no download went through the regional host"
    assert all(r.status in (200, 206) and "authorization" not in r.headers for r in regional)


def test_a_redirect_off_the_allow_list_is_refused_before_it_is_sent(
    app_settings: Settings,
    chunk: tuple[ChunkJob, Any],
    emulator: AcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job, _ = chunk
    hostile = f"localhost:{emulator.port}"  # resolves, has a certificate, and would serve the bytes
    monkeypatch.setattr(emulator, "regional_content_host", hostile)
    emulator.clear_requests()
    with pytest.raises(UntrustedHostError, match="refused a request to localhost"):
        transfer(app_settings, job)
    assert not [r for r in emulator.requests if r.headers.get("host") == hostile]
    assert not archive_container(app_settings).get_blob_client(f"{PREFIX}/000-{job.document_id}.wav").exists()


def test_a_server_ignoring_range_is_archived_whole_and_verified(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.ignore_range = True
    emulator.clear_requests()
    result = transfer(app_settings, job)
    container = archive_container(app_settings)
    assert (
        result.archived.sha256 == source.content_sha256() == blob_sha256(container, result.archived.blob_name)
    )
    blocks, _ = container.get_blob_client(result.archived.blob_name).get_block_list("committed")
    assert len(blocks) == -(-source.content_length // RANGE)  # the same blocks as ranged reads give
    served = [r.status for r in emulator.requests if "/content/audio" in r.target and r.status != 302]
    assert set(served) == {200}


def test_a_range_ignoring_server_that_breaks_off_is_read_again_from_the_start(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.ignore_range = True
    emulator.add_fault("reset", r"/content/audio", count=1, after_bytes=source.content_length // 2)
    result = transfer(app_settings, job, retry_delay_s=0.01)
    assert (
        result.archived.sha256
        == source.content_sha256()
        == blob_sha256(archive_container(app_settings), result.archived.blob_name)
    )
    assert emulator.faults[0].applied == 1


def test_a_range_ignoring_server_is_read_in_bounded_memory(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.ignore_range = True
    tracemalloc.start()
    try:
        transfer(app_settings, job)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # (in_flight + 1) pooled ranges plus the SDKs' own ~1 MB (measured: the same as ranged reads);
    # holding the body would need at least its 3.8 MB.
    assert peak < (2 + 1) * RANGE + 1_500_000 < source.content_length, f"peak {peak} bytes"


def test_a_chunk_under_the_single_put_size_is_one_put_blob_with_its_hash(
    app_settings: Settings, chunk: tuple[ChunkJob, Any]
) -> None:
    job, source = chunk
    result = transfer(app_settings, job, single_put_bytes=source.content_length)
    blob = archive_container(app_settings).get_blob_client(result.archived.blob_name)
    committed, uncommitted = blob.get_block_list("all")
    assert (committed, uncommitted) == ([], [])  # one Put Blob, no blocks
    assert result.archived.sha256 == source.content_sha256() == blob.get_blob_properties().metadata["sha256"]
    assert result.archived.sha256 == blob_sha256(archive_container(app_settings), result.archived.blob_name)


def test_two_single_puts_at_once_settle_on_one_blob(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.add_fault("latency", r"/content/audio", count=None, seconds=0.3)  # both check, then both put
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(transfer, app_settings, job, single_put_bytes=source.content_length) for _ in "ab"
        ]
        results = [run.result() for run in runs]
    assert {result.archived.sha256 for result in results} == {source.content_sha256()}
    container = archive_container(app_settings)
    assert [blob.name for blob in container.list_blobs(name_starts_with=PREFIX)] == sorted(
        {results[0].archived.blob_name, results[0].archived.metadata_blob_name}
    )


def test_a_second_run_skips_the_archived_chunk_without_rewriting_it(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, _ = chunk
    first = transfer(app_settings, job)
    blob = archive_container(app_settings).get_blob_client(first.archived.blob_name)
    etag = blob.get_blob_properties().etag
    downloads_before = sum(1 for r in emulator.requests if "/content/audio" in r.path)
    second = transfer(app_settings, job)
    assert second.skipped
    assert blob.get_blob_properties().etag == etag
    assert sum(1 for r in emulator.requests if "/content/audio" in r.path) == downloads_before


def test_transfer_killed_mid_way_is_completed_by_a_retry_reusing_staged_blocks(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.add_fault("bandwidth", r"/content/audio", count=None, bytes_per_second=400_000)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.chunk_worker",
            json.dumps(
                {
                    "chunk": job.to_json(),
                    "prefix": PREFIX,
                    "rangeBytes": RANGE,
                    "inFlight": 2,
                    "singlePutBytes": 0,  # staged blocks: what a retry can reuse
                    "emulatorPort": emulator.port,
                }
            ),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    blob = archive_container(app_settings).get_blob_client(f"{PREFIX}/000-{job.document_id}.wav")
    try:
        deadline = time.monotonic() + 30
        while len(_uncommitted(blob)) < 3:
            assert worker.poll() is None, "the transfer finished before it could be killed"
            assert time.monotonic() < deadline, "no blocks were staged"
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait()
    staged = len(_uncommitted(blob))
    emulator.clear_faults()
    result = transfer(app_settings, job)
    assert result.reused_blocks >= staged >= 3
    assert (
        result.archived.sha256
        == source.content_sha256()
        == blob_sha256(archive_container(app_settings), result.archived.blob_name)
    )


def _uncommitted(blob: Any) -> list[Any]:
    try:
        return list(blob.get_block_list("uncommitted")[1])
    except Exception:
        return []


def test_a_reset_connection_is_retried_and_the_result_is_identical(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.add_fault("reset", r"/content/audio", count=2, after_bytes=1000)
    result = transfer(app_settings, job, retry_delay_s=0.01)
    assert result.archived.sha256 == source.content_sha256()
    assert emulator.faults[0].applied == 2  # both resets happened: the retries were needed


def test_a_truncated_body_is_retried_and_the_result_is_identical(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    emulator.add_fault("truncate", r"/content/audio", count=2, after_bytes=5000)
    assert transfer(app_settings, job, retry_delay_s=0.01).archived.sha256 == source.content_sha256()
    assert emulator.faults[0].applied == 2  # both bodies were cut short: the retries were needed


def test_throttling_with_retry_after_is_waited_out(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    """azure-core's own retry policy answers the first three 503s (it honours Retry-After too); the
    fourth reaches the transfer, which must wait the server's 2 s, not its own 10 ms backoff."""
    job, source = chunk
    emulator.add_fault("status", r"/content/audio", count=4, status=503, retry_after=2)
    started = time.monotonic()
    assert transfer(app_settings, job, retry_delay_s=0.01).archived.sha256 == source.content_sha256()
    assert emulator.faults[0].applied == 4
    assert time.monotonic() - started >= 3 * 2 + 2 - 0.5  # azure-core's three waits, then ours


def test_a_persistent_refusal_fails_the_transfer_and_commits_nothing(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, _ = chunk
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    with pytest.raises(DownloadRefusedError) as refused:
        transfer(app_settings, job, retry_delay_s=0.01)
    assert refused.value.status_code == 403
    blob = archive_container(app_settings).get_blob_client(f"{PREFIX}/000-{job.document_id}.wav")
    assert not blob.exists()


def test_archived_chunk_is_skipped_without_asking_acs_even_after_its_copy_is_deleted(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, source = chunk
    transfer(app_settings, job)
    call_automation_client(app_settings.acs).delete_recording(job.delete_location)
    before = len(emulator.requests)
    again = transfer(app_settings, job)
    assert again.skipped
    assert again.archived.sha256 == source.content_sha256()
    assert len(emulator.requests) == before


def _formatted_while_handled(error: BaseException) -> tuple[str, int]:
    """str(error) inside its own except block, as a host formats a failed activity, and how many
    frames deep that went (an SDK error over an unread streamed body recursed until the limit)."""
    deepest = 0

    def trace(frame: Any, event: str, arg: Any) -> None:
        nonlocal deepest
        if event == "call":
            depth, f = 0, frame
            while f is not None:
                depth, f = depth + 1, f.f_back
            deepest = max(deepest, depth)

    try:
        raise error
    except BaseException as handled:
        sys.setprofile(trace)
        try:
            text = str(handled)
        finally:
            sys.setprofile(None)
    return text, deepest - len(inspect.stack())


def test_a_refused_download_fails_the_chunk_with_an_error_a_host_can_format(
    app_settings: Settings, chunk: tuple[ChunkJob, Any], emulator: AcsEmulator
) -> None:
    job, _ = chunk
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    with pytest.raises(DownloadRefusedError) as refused:
        transfer(app_settings, job, retry_delay_s=0.01)
    text, depth = _formatted_while_handled(refused.value)
    assert depth < 50
    assert "403" in text
