"""One rule for recording ids, keys and archive ids, whichever path derives them."""

from __future__ import annotations

import pytest

from shared.recording_ids import archive_instance_id, is_recording_id, recording_key
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
    assert key.startswith("h")
    assert len(key) == 65
