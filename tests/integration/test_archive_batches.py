"""A recording of more chunks than one batch: archived by batch sub-orchestrations on the local
Durable engine (replayed like Durable), with the orchestrator's contract unchanged."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

import shared.archive.orchestration as orchestration
from devtools.acs_emulator import AcsEmulator
from devtools.devhost import DevHost
from devtools.durable import DurableEngine
from shared.archive.model import ArchiveProgress
from shared.recording_ids import archive_instance_id
from tests.support.archive import SECONDS_4CH, WAV_HEADER, archived, record

CHUNKS = 5  # batches of 2, 2 at a time: batches [0, 1], [2, 3] in the first wave, [4] in the second


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestration, "BATCH_CHUNKS", 2)
    monkeypatch.setattr(orchestration, "BATCHES_AT_ONCE", 2)


def five_chunk_recording(emulator: AcsEmulator) -> str:
    emulator.max_chunk_bytes = WAV_HEADER + SECONDS_4CH  # one second of 4-channel audio per chunk
    return record(emulator, seconds=CHUNKS, body={"channel": "unmixed"})


def batches_of(engine: DurableEngine, recording_id: str) -> list[dict[str, Any]]:
    """The batch orchestrations of this recording's archive (their ids start with the parent's)."""
    parent = archive_instance_id(recording_id)
    return [
        s
        for s in engine.list_statuses()
        if s["name"] == orchestration.ARCHIVE_BATCH and s["instanceId"].startswith(f"{parent}:")
    ]


def test_a_recording_longer_than_a_batch_is_archived_byte_for_byte_by_batch_sub_orchestrations(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    recording_id = five_chunk_recording(emulator)
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Completed", status
    files = emulator.recording_files(recording_id)
    manifest = json.loads(container.download_blob(status["output"]["manifest"]).readall())
    assert [c["index"] for c in manifest["chunks"]] == list(range(CHUNKS))
    assert [c["sha256"] for c in manifest["chunks"]] == [c.content_sha256() for c in files.chunks]
    for entry in manifest["chunks"]:
        data = container.download_blob(entry["blobName"]).readall()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert sorted(b["runtimeStatus"] for b in batches_of(engine, recording_id)) == ["Completed"] * 3


def test_a_batched_archive_ends_with_the_same_progress_status_as_an_unbatched_one(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator
) -> None:
    recording_id = five_chunk_recording(emulator)
    status = archived(engine, recording_id)
    total = sum(c.content_length for c in emulator.recording_files(recording_id).chunks)
    assert status["customStatus"] == ArchiveProgress("done", CHUNKS, CHUNKS, 0, total).to_json()
    assert status["output"]["chunks"] == CHUNKS


def test_a_failed_batch_fails_the_archive_and_no_later_batch_is_started(
    host: DevHost, engine: DurableEngine, emulator: AcsEmulator, container: ContainerClient
) -> None:
    emulator.add_fault("status", r"/content/audio", count=None, status=403)
    recording_id = five_chunk_recording(emulator)
    status = archived(engine, recording_id)
    assert status["runtimeStatus"] == "Failed"
    assert len(batches_of(engine, recording_id)) == 2  # the first wave only
    assert status["customStatus"]["phase"] == "failed"
    assert status["customStatus"]["chunksFailed"] >= 1
