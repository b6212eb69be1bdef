"""Blob names: deterministic, date-partitioned, typed by the recording's format."""

from __future__ import annotations

import pytest

from shared.archive.blob_layout import (
    content_blob_name,
    manifest_blob_name,
    media_type,
    metadata_blob_name,
    recording_prefix,
)

BASE = "https://us-storage.asm.skype.com/v1/objects/0-eus-d19-c0fe/content/"


@pytest.mark.parametrize(
    ("suffix", "extension", "content_type"),
    [
        ("audiowavmultichannel", "wav", "audio/wav"),
        ("audiomp3", "mp3", "audio/mpeg"),
        ("video", "mp4", "video/mp4"),
    ],
)
def test_media_type_follows_the_content_location(suffix: str, extension: str, content_type: str) -> None:
    media = media_type(BASE + suffix)
    assert (media.extension, media.content_type) == (extension, content_type)


def test_unknown_suffix_falls_back_to_the_event_format() -> None:
    assert media_type(BASE + "somethingnew", "mp3").extension == "mp3"


def test_unknown_everything_is_octet_stream() -> None:
    assert media_type(BASE + "somethingnew").content_type == "application/octet-stream"


def test_prefix_is_partitioned_by_the_utc_start_date() -> None:
    assert recording_prefix("2021-07-27T23:20:23.6089755-02:00", "rec") == "2021/07/28/rec"


def test_names_follow_the_documented_layout() -> None:
    prefix = "2026/11/24/rec"
    assert content_blob_name(prefix, 2, "0-eus-d1-ab", "wav") == "2026/11/24/rec/002-0-eus-d1-ab.wav"
    assert metadata_blob_name(prefix, 2, "0-eus-d1-ab") == "2026/11/24/rec/002-0-eus-d1-ab.metadata.json"
    assert manifest_blob_name(prefix) == "2026/11/24/rec/manifest.json"
