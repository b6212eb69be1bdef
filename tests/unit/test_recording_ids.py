"""One rule for recording ids, keys and archive ids, whichever path derives them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.recording_ids import (
    HASHED_KEY_MARK,
    archive_instance_id,
    canonical_recording_id,
    checked_recording_id,
    is_recording_id,
    recording_key,
)
from tests.unit.archive.test_events import RECORDING_ID, event_grid, parse


def test_the_event_and_the_archive_route_derive_the_same_instance_id() -> None:
    assert parse(event_grid()).instance_id == archive_instance_id(RECORDING_ID)


@pytest.mark.parametrize("value", ["ab=c", "=abc", "a b", "", "x" * 1025, None, 7])
def test_a_malformed_recording_id_is_refused_everywhere(value: object) -> None:
    # the route check and the event check once disagreed on `=` inside an id
    assert not is_recording_id(value)


@pytest.mark.parametrize("value", ["eyJhIjoxfQ", "eyJhIjoxfQ==", "a+b/c", "a-b_c"])
def test_base64_and_base64url_recording_ids_are_accepted(value: str) -> None:
    assert is_recording_id(value)


def test_a_long_recording_id_gets_a_short_hashed_key() -> None:
    key = recording_key("A" * 1000)
    assert key.startswith(HASHED_KEY_MARK)
    assert len(key) == 65


@pytest.mark.parametrize("padded", ["eyJhIjoxfQ=", "eyJhIjoxfQ=="])
def test_padding_is_dropped_so_a_padded_id_is_the_same_recording_everywhere(padded: str) -> None:
    assert canonical_recording_id(padded) == checked_recording_id(padded) == "eyJhIjoxfQ"
    assert archive_instance_id(padded) == archive_instance_id("eyJhIjoxfQ")


@pytest.mark.parametrize(
    ("standard", "url_safe"), [("ab+cd", "ab-cd"), ("ab/cd", "ab_cd"), ("a+b/c", "a-b_c")]
)
def test_the_two_base64_alphabets_spell_different_recordings_with_different_keys(
    standard: str, url_safe: str
) -> None:
    assert canonical_recording_id(standard) != canonical_recording_id(url_safe)
    assert recording_key(standard) != recording_key(url_safe)


@given(
    st.text(alphabet="ABCab01+/-_", min_size=1, max_size=40),
    st.text(alphabet="ABCab01+/-_", min_size=1, max_size=40),
)
def test_two_ids_share_a_key_only_when_they_are_the_same_recording(first: str, second: str) -> None:
    same_recording = canonical_recording_id(first) == canonical_recording_id(second)
    assert (recording_key(first) == recording_key(second)) == same_recording
