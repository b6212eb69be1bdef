"""Request JSON -> start_recording keyword arguments, and every rejection before ACS is called."""

from __future__ import annotations

from typing import Any

import pytest
from azure.communication.callautomation import (
    AzureBlobContainerRecordingStorage,
    ChannelAffinity,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import ApiError
from shared.recording.options import START_FIELDS, VALID_COMBINATIONS, parse_start_request
from tests.seed_examples import CALLBACK, CONTAINER, SEED_EXAMPLES, SERVER_CALL_ID, USER

OTHER_USER = "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_00000029-aaaa-bbbb-cccc-000000000002"


def rejection(body: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_start_request(body, **kwargs)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize("example", SEED_EXAMPLES, ids=lambda e: e["name"])
def test_every_seed_example_is_accepted_with_its_options_intact(example: dict[str, Any]) -> None:
    options = parse_start_request(example["request"])
    shown = {**example["request"], "stateCallbackUrl": CALLBACK.split("?")[0]}
    assert options.to_json() == shown


def test_server_call_id_becomes_the_server_call_id_keyword() -> None:
    kwargs = parse_start_request({"serverCallId": SERVER_CALL_ID}).to_sdk_kwargs()
    assert kwargs == {"server_call_id": SERVER_CALL_ID}


@pytest.mark.parametrize(
    ("field", "keyword"),
    [("groupCallId", "group_call_id"), ("callConnectionId", "call_connection_id")],
)
def test_other_call_locators_map_to_their_keywords(field: str, keyword: str) -> None:
    assert parse_start_request({field: "abc-123"}).to_sdk_kwargs() == {keyword: "abc-123"}


def test_unmixed_wav_options_map_to_sdk_keywords() -> None:
    kwargs = parse_start_request(SEED_EXAMPLES[0]["request"]).to_sdk_kwargs()
    assert kwargs == {
        "server_call_id": SERVER_CALL_ID,
        "recording_state_callback_url": CALLBACK,
        "recording_content_type": "audio",
        "recording_channel_type": "unmixed",
        "recording_format_type": "wav",
    }


def test_participant_ordering_becomes_sdk_identifiers_from_raw_ids() -> None:
    body = {
        "serverCallId": SERVER_CALL_ID,
        "channel": "unmixed",
        "audioChannelParticipantOrdering": [USER, "4:+14255550123"],
    }
    ordering = parse_start_request(body).to_sdk_kwargs()["audio_channel_participant_ordering"]
    assert isinstance(ordering[0], CommunicationUserIdentifier)
    assert isinstance(ordering[1], PhoneNumberIdentifier)
    assert [p.raw_id for p in ordering] == [USER, "4:+14255550123"]


def test_channel_affinity_becomes_sdk_channel_affinity() -> None:
    body = {
        "serverCallId": SERVER_CALL_ID,
        "channel": "unmixed",
        "channelAffinity": [{"channel": 3, "participant": USER}],
    }
    (affinity,) = parse_start_request(body).to_sdk_kwargs()["channel_affinity"]
    assert isinstance(affinity, ChannelAffinity)
    assert (affinity.channel, affinity.target_participant.raw_id) == (3, USER)


def test_external_storage_becomes_blob_container_storage() -> None:
    body = {"serverCallId": SERVER_CALL_ID, "externalStorage": {"containerUrl": CONTAINER}}
    storage = parse_start_request(body).to_sdk_kwargs()["recording_storage"]
    assert isinstance(storage, AzureBlobContainerRecordingStorage)
    assert storage.container_url == CONTAINER


def test_pause_on_start_false_is_sent_explicitly() -> None:
    kwargs = parse_start_request({"serverCallId": SERVER_CALL_ID, "pauseOnStart": False}).to_sdk_kwargs()
    assert kwargs["pause_on_start"] is False


def test_default_callback_url_applies_when_the_request_gives_none() -> None:
    options = parse_start_request({"serverCallId": SERVER_CALL_ID}, default_callback_url=CALLBACK)
    assert options.state_callback_url == CALLBACK


def test_request_callback_url_wins_over_the_default() -> None:
    own = "https://other.example/hook"
    options = parse_start_request(
        {"serverCallId": SERVER_CALL_ID, "stateCallbackUrl": own}, default_callback_url=CALLBACK
    )
    assert options.state_callback_url == own


@pytest.mark.parametrize(
    ("given_options", "completed"),
    [
        ({"channel": "unmixed"}, ("audio", "unmixed", "wav")),
        ({"content": "audioVideo"}, ("audioVideo", "mixed", "mp4")),
        ({"format": "mp4"}, ("audioVideo", "mixed", "mp4")),
        ({"format": "mp3"}, ("audio", "mixed", "mp3")),
        ({"content": "audio", "channel": "mixed"}, ("audio", "mixed", None)),
        ({}, (None, None, None)),
    ],
)
def test_missing_content_channel_format_are_completed_only_when_one_value_fits(
    given_options: dict[str, str], completed: tuple[str | None, ...]
) -> None:
    options = parse_start_request({"serverCallId": SERVER_CALL_ID, **given_options})
    assert (options.content, options.channel, options.format) == completed


def test_participant_ordering_implies_unmixed_wav_audio() -> None:
    options = parse_start_request({"serverCallId": SERVER_CALL_ID, "audioChannelParticipantOrdering": [USER]})
    assert (options.content, options.channel, options.format) == ("audio", "unmixed", "wav")


@pytest.mark.parametrize("combination", VALID_COMBINATIONS)
def test_every_valid_combination_is_accepted(combination: tuple[str, str, str]) -> None:
    content, channel, fmt = combination
    options = parse_start_request(
        {"serverCallId": SERVER_CALL_ID, "content": content, "channel": channel, "format": fmt}
    )
    assert (options.content, options.channel, options.format) == combination


INVALID_BODIES: list[tuple[str, Any, str | None]] = [
    ("not an object", [1, 2], None),
    ("no call locator", {"content": "audio"}, "serverCallId"),
    ("two call locators", {"serverCallId": "a", "groupCallId": "b"}, "groupCallId"),
    ("empty server call id", {"serverCallId": ""}, "serverCallId"),
    ("numeric server call id", {"serverCallId": 12}, "serverCallId"),
    ("unknown field", {"serverCallId": "a", "recordingFormat": "wav"}, "recordingFormat"),
    ("unknown content", {"serverCallId": "a", "content": "video"}, "content"),
    ("wrongly cased channel", {"serverCallId": "a", "channel": "Unmixed"}, "channel"),
    ("unknown format", {"serverCallId": "a", "format": "ogg"}, "format"),
    ("audioVideo unmixed", {"serverCallId": "a", "content": "audioVideo", "channel": "unmixed"}, "channel"),
    ("audioVideo wav", {"serverCallId": "a", "content": "audioVideo", "format": "wav"}, "format"),
    ("unmixed mp3", {"serverCallId": "a", "channel": "unmixed", "format": "mp3"}, "format"),
    ("audio mp4", {"serverCallId": "a", "content": "audio", "format": "mp4"}, "format"),
    ("pauseOnStart as string", {"serverCallId": "a", "pauseOnStart": "true"}, "pauseOnStart"),
    (
        "ordering with mixed",
        {"serverCallId": "a", "channel": "mixed", "audioChannelParticipantOrdering": [USER]},
        "audioChannelParticipantOrdering",
    ),
    (
        "affinity with mixed",
        {"serverCallId": "a", "channel": "mixed", "channelAffinity": [{"channel": 0, "participant": USER}]},
        "channelAffinity",
    ),
    (
        "affinity with audioVideo",
        {
            "serverCallId": "a",
            "content": "audioVideo",
            "channelAffinity": [{"channel": 0, "participant": USER}],
        },
        "channelAffinity",
    ),
    (
        "ordering not a list",
        {"serverCallId": "a", "audioChannelParticipantOrdering": USER},
        "audioChannelParticipantOrdering",
    ),
    (
        "ordering duplicate",
        {"serverCallId": "a", "audioChannelParticipantOrdering": [USER, USER]},
        "audioChannelParticipantOrdering[1]",
    ),
    (
        "ordering empty id",
        {"serverCallId": "a", "audioChannelParticipantOrdering": [""]},
        "audioChannelParticipantOrdering[0]",
    ),
    (
        "channel 5",
        {"serverCallId": "a", "channelAffinity": [{"channel": 5, "participant": USER}]},
        "channelAffinity[0].channel",
    ),
    (
        "channel -1",
        {"serverCallId": "a", "channelAffinity": [{"channel": -1, "participant": USER}]},
        "channelAffinity[0].channel",
    ),
    (
        "channel as bool",
        {"serverCallId": "a", "channelAffinity": [{"channel": True, "participant": USER}]},
        "channelAffinity[0].channel",
    ),
    (
        "channel as float",
        {"serverCallId": "a", "channelAffinity": [{"channel": 1.0, "participant": USER}]},
        "channelAffinity[0].channel",
    ),
    (
        "duplicate channel",
        {
            "serverCallId": "a",
            "channelAffinity": [
                {"channel": 0, "participant": USER},
                {"channel": 0, "participant": OTHER_USER},
            ],
        },
        "channelAffinity[1]",
    ),
    (
        "same participant twice",
        {
            "serverCallId": "a",
            "channelAffinity": [{"channel": 0, "participant": USER}, {"channel": 1, "participant": USER}],
        },
        "channelAffinity[1]",
    ),
    (
        "affinity unknown field",
        {"serverCallId": "a", "channelAffinity": [{"channel": 0, "participant": USER, "role": "x"}]},
        "channelAffinity[0].role",
    ),
    (
        "affinity without participant",
        {"serverCallId": "a", "channelAffinity": [{"channel": 0}]},
        "channelAffinity[0].participant",
    ),
    (
        "http callback",
        {"serverCallId": "a", "stateCallbackUrl": "http://contoso.example/cb"},
        "stateCallbackUrl",
    ),
    ("relative callback", {"serverCallId": "a", "stateCallbackUrl": "/api/cb"}, "stateCallbackUrl"),
    (
        "callback with credentials",
        {"serverCallId": "a", "stateCallbackUrl": "https://u:p@contoso.example/"},
        "stateCallbackUrl",
    ),
    (
        "callback to the cloud metadata address",
        {"serverCallId": "a", "stateCallbackUrl": "https://169.254.169.254/x"},
        "stateCallbackUrl",
    ),
    (
        "callback to a private address",
        {"serverCallId": "a", "stateCallbackUrl": "https://10.0.0.5/cb"},
        "stateCallbackUrl",
    ),
    (
        "callback to loopback",
        {"serverCallId": "a", "stateCallbackUrl": "https://[::1]/cb"},
        "stateCallbackUrl",
    ),
    (
        "callback to a single-label host",
        {"serverCallId": "a", "stateCallbackUrl": "https://intranet/cb"},
        "stateCallbackUrl",
    ),
    (
        "http container",
        {"serverCallId": "a", "externalStorage": {"containerUrl": "http://x.blob.core.windows.net/c"}},
        "externalStorage.containerUrl",
    ),
    (
        "container with SAS",
        {"serverCallId": "a", "externalStorage": {"containerUrl": f"{CONTAINER}?sig=secret"}},
        "externalStorage.containerUrl",
    ),
    (
        "storage unknown field",
        {"serverCallId": "a", "externalStorage": {"containerUrl": CONTAINER, "kind": "x"}},
        "externalStorage.kind",
    ),
    ("storage not an object", {"serverCallId": "a", "externalStorage": CONTAINER}, "externalStorage"),
]


@pytest.mark.parametrize(("name", "body", "target"), INVALID_BODIES, ids=[c[0] for c in INVALID_BODIES])
def test_invalid_request_is_rejected_naming_its_field(name: str, body: Any, target: str | None) -> None:
    assert rejection(body).target == target


def test_rejection_of_a_combination_lists_what_the_service_accepts() -> None:
    error = rejection({"serverCallId": "a", "content": "audioVideo", "channel": "unmixed"})
    assert error.code == "UnsupportedCombination"
    assert "audio/unmixed/wav" in error.message


def test_sas_token_is_not_echoed_in_the_error() -> None:
    error = rejection(
        {"serverCallId": "a", "externalStorage": {"containerUrl": f"{CONTAINER}?sig=topsecret"}}
    )
    assert "topsecret" not in error.message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(sorted(START_FIELDS))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(field_names, json_values, max_size=6))
def test_any_json_body_is_accepted_or_rejected_with_a_400_never_an_exception(body: dict[str, Any]) -> None:
    status = 200
    try:
        parse_start_request(body)
    except ApiError as error:
        status = error.status
    assert status in (200, 400)


def test_callback_url_query_is_never_echoed_or_stored() -> None:
    default = "https://app.example/api/callbacks/recording-state?code=FUNCTION-KEY"
    options = parse_start_request({"serverCallId": SERVER_CALL_ID}, default_callback_url=default)
    assert options.state_callback_url == default  # ACS still gets the full URL
    assert options.to_json()["stateCallbackUrl"] == "https://app.example/api/callbacks/recording-state"


def test_a_callback_to_a_public_ip_address_is_accepted() -> None:
    url = "https://20.42.0.1/api/callbacks/recording-state"
    options = parse_start_request({"serverCallId": SERVER_CALL_ID, "stateCallbackUrl": url})
    assert options.state_callback_url == url
