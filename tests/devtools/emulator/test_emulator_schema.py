"""Start-recording request validation: spec schemas plus the service's cross-field rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from devtools.acs_emulator import schema
from devtools.acs_emulator.schema import RequestValidationError, validate_start_request
from tests.reference import load_json

from .conftest import ALICE, BOB, load_reference

SERVER_CALL = {"serverCallId": "aHR0cHM6Ly9zZXJ2ZXJjYWxs", "kind": "serverCallLocator"}
ACS_ALICE = {"rawId": ALICE, "communicationUser": {"id": ALICE}}
ACS_BOB = {"rawId": BOB, "communicationUser": {"id": BOB}}
_DOC_ONLY_KEYS = {"description", "x-ms-enum", "x-ms-client-name", "readOnly"}


def _body(**fields: Any) -> dict[str, Any]:
    return {"callLocator": dict(SERVER_CALL), "channelAffinity": [], **fields}


def _targets(body: Any) -> list[str]:
    with pytest.raises(RequestValidationError) as info:
        validate_start_request(body)
    return [issue.target for issue in info.value.issues]


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _strip(v) for k, v in node.items() if k not in _DOC_ONLY_KEYS}
        if "$ref" in out:
            out["$ref"] = "#/definitions/" + out["$ref"].rsplit("/", 1)[-1]
        return out
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def test_embedded_definitions_match_the_stable_spec() -> None:
    # Excerpts of the swagger files in tests/fixtures/reference: the compared definitions, unchanged.
    definitions = load_json("callautomation-stable-2026-03-12.communicationservicescallautomation.json")[
        "definitions"
    ]
    common = load_json("communication-common-stable-2025-06-30.common.json")["definitions"]
    for name, embedded in schema.DEFINITIONS.items():
        source = definitions.get(name)
        if source is None or set(source) == {"$ref"}:
            source = common[name]
        assert _strip(source) == embedded, name


def test_sdk_style_body_with_empty_channel_affinity_is_accepted() -> None:
    options = validate_start_request(_body())
    assert options.locator_kind == "serverCallLocator"
    assert (options.content_type, options.channel_type, options.format_type) == ("audio", "mixed", "mp3")


def test_captured_real_request_body_is_accepted() -> None:
    body = load_reference("start-recording.request-response.real-2026-03-12.json")["request"]["body"]
    options = validate_start_request(body)
    assert options.channel_affinity[0].participant == "testId"


def test_null_optional_fields_as_sent_by_dotnet_sdk_are_accepted() -> None:
    steps = load_reference("recording-lifecycle.real-2025-08-15-preview.json")["steps"]
    options = validate_start_request(steps[0]["request"]["body"])
    assert options.format_type == "mp3"
    assert options.pause_on_start is False


def test_unknown_top_level_property_is_rejected() -> None:
    assert _targets(_body(recordingStorageType="acs")) == ["recordingStorageType"]


def test_unknown_nested_property_is_rejected() -> None:
    body = _body(channelAffinity=[{"channel": 0, "participant": ACS_ALICE, "weight": 1}])
    assert _targets(body) == ["channelAffinity[0].weight"]


def test_unknown_call_locator_property_is_rejected() -> None:
    assert _targets({"callLocator": {**SERVER_CALL, "extra": 1}}) == ["callLocator.extra"]


def test_pascal_case_enum_value_is_rejected() -> None:
    assert _targets(_body(recordingFormatType="Wav")) == ["recordingFormatType"]


@pytest.mark.parametrize("channel", [-1, 5])
def test_channel_outside_zero_to_four_is_rejected(channel: int) -> None:
    body = _body(
        recordingChannelType="unmixed", channelAffinity=[{"channel": channel, "participant": ACS_ALICE}]
    )
    assert _targets(body) == ["channelAffinity[0].channel"]


def test_boolean_is_not_an_integer_channel() -> None:
    body = _body(
        recordingChannelType="unmixed", channelAffinity=[{"channel": True, "participant": ACS_ALICE}]
    )
    assert _targets(body) == ["channelAffinity[0].channel"]


def test_wrong_json_types_are_rejected() -> None:
    assert set(_targets(_body(pauseOnStart="yes", channelAffinity={}))) == {"pauseOnStart", "channelAffinity"}


def test_body_that_is_not_an_object_is_rejected() -> None:
    assert _targets([]) == ["body"]


def test_affinity_without_participant_is_rejected() -> None:
    assert _targets(_body(recordingChannelType="unmixed", channelAffinity=[{"channel": 1}])) == [
        "channelAffinity[0].participant"
    ]


def test_both_call_locator_and_call_connection_id_is_rejected() -> None:
    assert _targets(_body(callConnectionId="401f3500-0000-0000-0000-000000000000")) == ["body"]


def test_neither_call_locator_nor_call_connection_id_is_rejected() -> None:
    assert _targets({"channelAffinity": []}) == ["body"]


def test_call_connection_id_alone_is_accepted() -> None:
    options = validate_start_request({"callConnectionId": "401f3500-1", "channelAffinity": []})
    assert options.call_connection_id == "401f3500-1"
    assert options.locator_kind is None


def test_locator_kind_must_match_the_id_given() -> None:
    assert _targets({"callLocator": {"groupCallId": "g", "kind": "serverCallLocator"}}) == [
        "callLocator.kind"
    ]


def test_locator_with_two_ids_is_rejected() -> None:
    assert _targets({"callLocator": {"groupCallId": "g", "serverCallId": "s"}}) == ["callLocator"]


def test_room_locator_is_rejected_for_start_recording() -> None:
    assert _targets({"callLocator": {"roomId": "r", "kind": "roomCallLocator"}}) == ["callLocator.roomId"]


@pytest.mark.parametrize(
    "fields",
    [
        {"recordingContentType": "audioVideo", "recordingFormatType": "wav"},
        {"recordingContentType": "audioVideo", "recordingChannelType": "unmixed"},
        {"recordingChannelType": "unmixed", "recordingFormatType": "mp3"},
        {"recordingChannelType": "unmixed", "recordingFormatType": "mp4"},
        {"recordingContentType": "audio", "recordingFormatType": "mp4"},
    ],
)
def test_unsupported_content_channel_format_combination_is_rejected(fields: dict[str, str]) -> None:
    assert len(_targets(_body(**fields))) == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"recordingContentType": "audioVideo"}, ("audioVideo", "mixed", "mp4")),
        ({"recordingChannelType": "unmixed"}, ("audio", "unmixed", "wav")),
        ({"recordingFormatType": "wav"}, ("audio", "mixed", "wav")),
        (
            {
                "recordingContentType": "audioVideo",
                "recordingChannelType": "mixed",
                "recordingFormatType": "mp4",
            },
            ("audioVideo", "mixed", "mp4"),
        ),
    ],
)
def test_supported_combination_resolves_defaults(
    fields: dict[str, str], expected: tuple[str, str, str]
) -> None:
    options = validate_start_request(_body(**fields))
    assert (options.content_type, options.channel_type, options.format_type) == expected


def test_participant_ordering_with_explicit_mixed_channel_is_rejected() -> None:
    body = _body(recordingChannelType="mixed", audioChannelParticipantOrdering=[ACS_ALICE])
    assert _targets(body) == ["audioChannelParticipantOrdering"]


def test_channel_affinity_with_explicit_mixed_channel_is_rejected() -> None:
    body = _body(recordingChannelType="mixed", channelAffinity=[{"channel": 0, "participant": ACS_ALICE}])
    assert _targets(body) == ["channelAffinity"]


def test_duplicate_affinity_channel_is_rejected() -> None:
    affinity = [{"channel": 1, "participant": ACS_ALICE}, {"channel": 1, "participant": ACS_BOB}]
    assert _targets(_body(recordingChannelType="unmixed", channelAffinity=affinity)) == [
        "channelAffinity[1].channel"
    ]


def test_duplicate_affinity_participant_is_rejected() -> None:
    affinity = [{"channel": 0, "participant": ACS_ALICE}, {"channel": 1, "participant": ACS_ALICE}]
    assert _targets(_body(recordingChannelType="unmixed", channelAffinity=affinity)) == [
        "channelAffinity[1].participant"
    ]


def test_duplicate_ordering_participant_is_rejected() -> None:
    body = _body(recordingChannelType="unmixed", audioChannelParticipantOrdering=[ACS_ALICE, ACS_ALICE])
    assert _targets(body) == ["audioChannelParticipantOrdering[1]"]


def test_unmixed_with_ordering_and_affinity_is_accepted() -> None:
    body = _body(
        recordingChannelType="unmixed",
        recordingContentType="audio",
        recordingFormatType="wav",
        audioChannelParticipantOrdering=[ACS_BOB],
        channelAffinity=[{"channel": 0, "participant": ACS_ALICE}],
    )
    options = validate_start_request(body)
    assert options.participant_ordering == (BOB,)
    assert options.channel_affinity[0].channel == 0


def test_identifier_with_two_typed_models_is_rejected() -> None:
    both = {"communicationUser": {"id": ALICE}, "phoneNumber": {"value": "+1555"}}
    body = _body(recordingChannelType="unmixed", audioChannelParticipantOrdering=[both])
    assert _targets(body) == ["audioChannelParticipantOrdering[0]"]


def test_identifier_kind_must_match_its_model() -> None:
    wrong = {"kind": "phoneNumber", "communicationUser": {"id": ALICE}}
    body = _body(recordingChannelType="unmixed", audioChannelParticipantOrdering=[wrong])
    assert _targets(body) == ["audioChannelParticipantOrdering[0]"]


def test_identifier_without_any_id_is_rejected() -> None:
    body = _body(
        recordingChannelType="unmixed", audioChannelParticipantOrdering=[{"kind": "communicationUser"}]
    )
    assert _targets(body) == ["audioChannelParticipantOrdering[0]"]


def test_raw_id_is_derived_from_typed_identifiers() -> None:
    assert schema.identifier_raw_id({"phoneNumber": {"value": "+15551234567"}}) == "4:+15551234567"
    assert schema.identifier_raw_id({"microsoftTeamsUser": {"userId": "u"}}) == "8:orgid:u"
    assert schema.identifier_raw_id({"microsoftTeamsUser": {"userId": "u", "cloud": "gcch"}}) == "8:gcch:u"
    assert schema.identifier_raw_id({"communicationUser": {"id": ALICE}}) == ALICE


def test_blob_storage_needs_a_destination_container() -> None:
    body = _body(externalStorage={"recordingStorageKind": "azureBlobStorage"})
    assert _targets(body) == ["externalStorage.recordingDestinationContainerUrl"]


def test_blob_storage_container_must_be_an_absolute_uri() -> None:
    body = _body(
        externalStorage={
            "recordingStorageKind": "azureBlobStorage",
            "recordingDestinationContainerUrl": "container",
        }
    )
    assert _targets(body) == ["externalStorage.recordingDestinationContainerUrl"]


def test_callback_uri_must_be_absolute_http_url() -> None:
    assert _targets(_body(recordingStateCallbackUri="/api/callbacks")) == ["recordingStateCallbackUri"]


def test_all_issues_are_reported_together() -> None:
    body = _body(recordingFormatType="flac", pauseOnStart=1, bogus=True)
    assert set(_targets(body)) == {"recordingFormatType", "pauseOnStart", "bogus"}


def test_participants_outside_the_call_are_reported() -> None:
    body = _body(
        recordingChannelType="unmixed",
        audioChannelParticipantOrdering=[ACS_ALICE],
        channelAffinity=[{"channel": 0, "participant": ACS_BOB}],
    )
    options = validate_start_request(copy.deepcopy(body))
    issues = schema.participant_issues(options, [ALICE])
    assert [i.target for i in issues] == ["channelAffinity[0].participant"]
