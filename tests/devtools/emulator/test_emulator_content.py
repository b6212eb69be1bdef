"""Recording files produced on stop: formats, WAV structure, channels, timeline, chunks, metadata."""

from __future__ import annotations

import io
import re
import wave
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    ChannelAffinity,
    CommunicationUserIdentifier,
)

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.recording_files import (
    Timeline,
    assign_channels,
    build_recording_files,
)
from devtools.acs_emulator.schema import ChannelAssignment
from devtools.acs_emulator.state import StateChange

from .conftest import ALICE, BOB, CAROL, DAVE, load_reference, start_recording

UNMIXED_WAV = {
    "recording_content_type": "audio",
    "recording_channel_type": "unmixed",
    "recording_format_type": "wav",
}
MIXED_WAV = {
    "recording_content_type": "audio",
    "recording_channel_type": "mixed",
    "recording_format_type": "wav",
}


def _wav(data: bytes) -> wave.Wave_read:
    return wave.open(io.BytesIO(data), "rb")


@pytest.fixture
def four(emulator: AcsEmulator) -> Call:
    return emulator.create_call(participants=[ALICE, BOB, CAROL, DAVE])


def test_unmixed_wav_of_exactly_30_seconds_with_4_participants(
    emulator: AcsEmulator, client: CallAutomationClient, four: Call
) -> None:
    recording_id = start_recording(client, four, **UNMIXED_WAV)
    files = emulator.stop_recording(recording_id, duration_s=30.0)
    [chunk] = files.chunks
    with _wav(chunk.read()) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (4, 16000, 2)
        assert wav.getnframes() == 480000
    assert chunk.content_length == 44 + 480000 * 4 * 2
    assert chunk.content_location.endswith(f"/v1/objects/{chunk.document_id}/content/audiowavmultichannel")


def test_unmixed_channels_follow_affinity_then_ordering_then_call_order(
    emulator: AcsEmulator, client: CallAutomationClient, four: Call
) -> None:
    recording_id = start_recording(
        client,
        four,
        **UNMIXED_WAV,
        audio_channel_participant_ordering=[
            CommunicationUserIdentifier(DAVE),
            CommunicationUserIdentifier(CAROL),
        ],
        channel_affinity=[ChannelAffinity(target_participant=CommunicationUserIdentifier(BOB), channel=0)],
    )
    metadata = emulator.stop_recording(recording_id, duration_s=1.0).chunks[0].metadata
    assert metadata["participants"] == [
        {"participantId": BOB, "channel": 0},
        {"participantId": DAVE, "channel": 1},
        {"participantId": CAROL, "channel": 2},
        {"participantId": ALICE, "channel": 3},
    ]
    assert metadata["recordingInfo"]["audioConfiguration"]["channels"] == 4


def test_at_most_five_channels_are_assigned() -> None:
    people = [f"8:acs:p{i}" for i in range(7)]
    assigned = assign_channels(people, ordering=[people[6]], affinity=[ChannelAssignment(4, people[5])])
    assert assigned[:5] == [(people[6], 0), (people[0], 1), (people[1], 2), (people[2], 3), (people[5], 4)]
    assert assigned[5:] == [(people[3], None), (people[4], None)]


def test_mixed_wav_is_mono_and_lists_participants_without_channels(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    recording_id = start_recording(client, call, **MIXED_WAV)
    chunk = emulator.stop_recording(recording_id, duration_s=2.0).chunks[0]
    with _wav(chunk.read()) as wav:
        assert (wav.getnchannels(), wav.getnframes()) == (1, 32000)
        assert any(wav.readframes(100))  # a tone, not silence
    assert chunk.metadata["participants"] == [{"participantId": ALICE}, {"participantId": BOB}]
    assert chunk.content_location.endswith("/content/audiowav")


def test_mp3_starts_with_an_id3_tag_followed_by_mpeg_frames(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    recording_id = start_recording(client, call, recording_format_type="mp3")
    chunk = emulator.stop_recording(recording_id, duration_s=3.6).chunks[0]
    head = chunk.read(0, 20)
    assert head[:3] == b"ID3"
    assert head[10] == 0xFF
    assert head[11] & 0xE0 == 0xE0  # frame sync
    assert chunk.content_length == 10 + 100 * 576
    assert chunk.content_location.endswith("/content/audiomp3")


def test_mp4_starts_with_an_ftyp_box(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> None:
    recording_id = start_recording(
        client, call, recording_content_type="audioVideo", recording_format_type="mp4"
    )
    chunk = emulator.stop_recording(recording_id, duration_s=1.0).chunks[0]
    head = chunk.read(0, 48)
    assert head[4:8] == b"ftyp"
    assert head[36:40] == b"mdat"
    assert chunk.content_location.endswith("/content/video")
    assert "videoConfiguration" in chunk.metadata["recordingInfo"]


def test_metadata_is_shaped_like_the_captured_document(
    emulator: AcsEmulator, client: CallAutomationClient, four: Call
) -> None:
    captured = load_reference("recording-metadata.real.json")["example_A_2022_mixed_audioVideo_mp4"][
        "response"
    ]
    recording_id = start_recording(client, four, **UNMIXED_WAV)
    chunk = emulator.stop_recording(recording_id, duration_s=1.5).chunks[0]
    metadata = chunk.metadata
    assert list(metadata) == list(captured["body"])
    assert metadata["resourceId"] == emulator.resource_id
    assert metadata["callId"] == four.group_call_id
    assert metadata["chunkDocumentId"] == chunk.document_id
    assert metadata["chunkDuration"] == 1500
    assert len(metadata["chunkStartTime"]) == len(captured["body"]["chunkStartTime"])
    assert metadata["recordingInfo"]["audioConfiguration"]["sampleRate"] == 16000
    assert re.fullmatch(r"0-eus-d\d+-[0-9a-f]{32}", chunk.document_id)


def test_paused_intervals_are_excluded_from_the_audio(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    recording_id = start_recording(client, call, **MIXED_WAV)
    files = emulator.stop_recording(recording_id, duration_s=20.0, pauses=[(5.0, 7.5)])
    chunk = files.chunks[0]
    with _wav(chunk.read(0, 44)) as wav:
        assert wav.getnframes() == 20 * 16000
    [pause] = chunk.metadata["pauseResumeIntervals"]
    assert pause["duration"] == 7500
    assert files.duration_ms == 20000
    start = files.timeline.start
    assert files.timeline.wall(20.0, after_pauses_at_offset=False) - start == timedelta(seconds=27.5)


def test_wall_clock_timeline_subtracts_pauses_from_the_history(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    recording_id = start_recording(client, call, **MIXED_WAV)
    emulator.stop_recording(recording_id, duration_s=0.1)
    stopped = emulator.recording(recording_id)
    t0 = stopped.started_at

    def at(seconds: float) -> Any:
        return t0 + timedelta(seconds=seconds)

    history = (
        StateChange("inactive", at(0), "started"),
        StateChange("active", at(1), "joined"),
        StateChange("inactive", at(11), "paused"),
        StateChange("active", at(15), "resumed"),
        StateChange("inactive", at(21), "stopRequested"),
        StateChange("stopped", at(21), "stopRequested"),
    )
    snapshot = replace(stopped, history=history, activated_at=at(1), stopped_at=at(21))
    timeline = Timeline.from_snapshot(snapshot, None)
    assert timeline.duration_s == 16.0
    assert timeline.pauses == ((10.0, 4.0),)
    files = build_recording_files(
        snapshot, call, resource_id="r", base_url="https://x.asm.skype.com", max_chunk_bytes=10**9
    )
    assert files.chunks[0].content_length == 44 + 16 * 16000 * 2


def test_chunks_split_by_max_size_with_end_reasons(
    emulator: AcsEmulator, client: CallAutomationClient, call: Call
) -> None:
    emulator.max_chunk_bytes = 44 + 50_000 * 2  # 3.125 s of mono audio per chunk
    recording_id = start_recording(client, call, **MIXED_WAV)
    files = emulator.stop_recording(recording_id, duration_s=10.0)
    assert [c.end_reason for c in files.chunks] == [
        "ChunkMaximumSizeExceeded",
        "ChunkMaximumSizeExceeded",
        "ChunkMaximumSizeExceeded",
        "SessionEnded",
    ]
    frames = []
    for chunk in files.chunks:
        assert chunk.content_length <= emulator.max_chunk_bytes
        with _wav(chunk.read()) as wav:
            frames.append(wav.getnframes())
    assert frames == [50_000, 50_000, 50_000, 10_000]
    assert [c.metadata["chunkIndex"] for c in files.chunks] == [0, 1, 2, 3]
    assert len({c.document_id for c in files.chunks}) == 4


def test_chunks_continue_one_stream(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> None:
    recording_id = start_recording(client, call, **MIXED_WAV)
    whole = emulator.stop_recording(recording_id, duration_s=1.0).chunks[0].read()[44:]
    emulator.max_chunk_bytes = 44 + 7_000 * 2
    other = start_recording(client, emulator.create_call([ALICE, BOB]), **MIXED_WAV)
    parts = emulator.stop_recording(other, duration_s=1.0).chunks
    assert b"".join(c.read()[44:] for c in parts) == whole


def test_end_call_accepts_a_timeline(emulator: AcsEmulator, client: CallAutomationClient, call: Call) -> None:
    recording_id = start_recording(client, call, **MIXED_WAV)
    emulator.end_call(call.server_call_id, duration_s=4.0)
    files = emulator.recording_files(recording_id)
    assert files.session_end_reason == "CallEnded"
    assert files.chunks[0].content_length == 44 + 4 * 16000 * 2


def test_a_recording_stopped_before_the_bot_joined_has_no_files() -> None:
    slow = AcsEmulator(activation_delay=5.0)
    with slow:
        call = slow.create_call([ALICE])
        sdk = CallAutomationClient.from_connection_string(
            slow.connection_string, connection_verify=slow.ca_pem_path
        )
        recording_id = start_recording(sdk, call)
        assert slow.stop_recording(recording_id).chunks == ()


def test_huge_recording_costs_no_memory_and_hashes_on_demand(
    emulator: AcsEmulator, client: CallAutomationClient, four: Call
) -> None:
    emulator.max_chunk_bytes = 3 * 1024**3
    recording_id = start_recording(client, four, **UNMIXED_WAV)
    chunk = emulator.stop_recording(recording_id, duration_s=5 * 3600.0).chunks[0]
    assert chunk.content_length == 44 + 5 * 3600 * 16000 * 8  # 2.3 GB, nothing materialised
    with _wav(chunk.read(0, 44)) as wav:
        assert wav.getnframes() == 5 * 3600 * 16000
    tail = chunk.read(chunk.content_length - 16)
    assert len(tail) == 16
