"""The recording policy, pure: parsing with errors that name the field, matching, explaining a miss."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.errors import ApiError
from shared.recording.call_events import CALL_STARTED, CallEvent
from shared.recording.options import CallLocator, parse_record_options, parse_start_request
from shared.recording.policy import MAX_RULES, parse_policy

ALICE = "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_0000002a-0000-0000-0000-000000000001"
BOB = "8:acs:0b1d6a00-0000-4000-8000-000000000000_0000002a-0000-0000-0000-000000000002"
GROUP = "7d3e6b7c-6a4e-4a8c-9a2e-1f0f3e9b1c2d"


def call(**facts: Any) -> CallEvent:
    return CallEvent(CALL_STARTED, "e1", datetime(2026, 12, 6, tzinfo=UTC), "c2VydmVy", **facts)


def rule(
    name: str = "r", match: dict[str, Any] | None = None, record: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "match": match if match is not None else {},
        "record": record if record is not None else {},
    }


def refusal(body: object) -> ApiError:
    with pytest.raises(ApiError) as refused:
        parse_policy(body)
    assert refused.value.status == 400
    return refused.value


def test_the_first_matching_rule_wins() -> None:
    policy = parse_policy(
        {"rules": [rule("rooms", {"callKind": "room"}), rule("groups", {"callKind": ["group"]}), rule("all")]}
    )
    assert policy.first_match(call(group_id=GROUP)).name == "groups"  # type: ignore[union-attr]
    assert policy.first_match(call(is_rooms_call=True, room_id="r1")).name == "rooms"  # type: ignore[union-attr]
    assert policy.first_match(call(is_two_party=True)).name == "all"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("match", "facts", "holds"),
    [
        ({"callKind": "twoParty"}, {"is_two_party": True}, True),
        ({"callKind": ["group", "room"]}, {"is_two_party": True}, False),
        ({"callKind": "room"}, {"room_id": "r1"}, True),  # a room id makes it a Rooms call
        ({"groupId": GROUP.upper()}, {"group_id": GROUP}, True),  # a GUID: case does not matter
        ({"groupId": [GROUP]}, {}, False),  # the call has no group
        ({"roomId": ["r1", "r2"]}, {"room_id": "r2"}, True),
        ({"roomId": "R1"}, {"room_id": "r1"}, False),
        ({"startedBy": [BOB, ALICE]}, {"started_by": ALICE}, True),
        ({"startedBy": BOB}, {}, False),
        ({"startedByPrefix": "8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_"}, {"started_by": ALICE}, True),
        ({"startedByPrefix": ["8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_"]}, {"started_by": BOB}, False),
        ({"callKind": "group", "startedBy": ALICE}, {"started_by": ALICE, "is_two_party": True}, False),
        ({}, {}, True),
    ],
)
def test_every_match_key_given_must_hold(match: dict[str, Any], facts: dict[str, Any], holds: bool) -> None:
    policy = parse_policy({"rules": [rule(match=match)]})
    assert (policy.first_match(call(**facts)) is not None) is holds


def test_a_miss_says_which_key_of_each_rule_did_not_hold() -> None:
    policy = parse_policy(
        {
            "rules": [
                rule("groups", {"callKind": "group"}),
                rule("alice", {"callKind": "twoParty", "startedBy": ALICE}),
            ]
        }
    )
    assert policy.why_not(call(is_two_party=True, started_by=BOB)) == (
        "no rule matched this twoParty call: 'groups' (callKind), 'alice' (startedBy)"
    )


def test_no_rules_is_auto_recording_off() -> None:
    assert not parse_policy({"rules": []}).enabled
    assert parse_policy({"rules": [rule()]}).enabled


@pytest.mark.parametrize(
    "record",
    [
        {"channel": "stereo"},
        {"content": "audioVideo", "format": "wav"},
        {"channel": "mixed", "audioChannelParticipantOrdering": [ALICE]},
        {"channelAffinity": [{"channel": 9, "participant": ALICE}]},
        {"externalStorage": {"containerUrl": "https://a.blob.core.windows.net/c?sig=x"}},
        {"stateCallbackUrl": "https://10.0.0.1/cb"},
        {"pauseOnStart": "yes"},
        {"colour": "red"},
    ],
)
def test_a_rules_record_is_refused_exactly_as_a_start_is_with_the_full_path(record: dict[str, Any]) -> None:
    with pytest.raises(ApiError) as start:
        parse_start_request({"serverCallId": "c2VydmVy", **record})
    error = refusal({"rules": [rule("ok"), rule("bad", record=record)]})
    assert (error.code, error.message) == (start.value.code, start.value.message)
    assert error.target == f"rules[1].record.{start.value.target}"


def test_a_record_that_names_a_call_is_refused() -> None:
    assert refusal({"rules": [rule(record={"serverCallId": "x"})]}).target == "rules[0].record.serverCallId"


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"rules": {}}, "rules"),
        ({"rules": [], "extra": 1}, "extra"),
        ({"rules": [rule()] * (MAX_RULES + 1)}, "rules"),
        ({"rules": ["x"]}, "rules[0]"),
        ({"rules": [{"name": "r", "match": {}}]}, "rules[0].record"),
        ({"rules": [{**rule(), "priority": 1}]}, "rules[0].priority"),
        ({"rules": [rule(name="")]}, "rules[0].name"),
        ({"rules": [rule(name="a/b")]}, "rules[0].name"),
        ({"rules": [rule(name="x" * 65)]}, "rules[0].name"),
        ({"rules": [rule("Same"), rule("same")]}, "rules[1].name"),
        ({"rules": [rule(match=[])]}, "rules[0].match"),
        ({"rules": [rule(match={"callKind": "pstn"})]}, "rules[0].match.callKind"),
        ({"rules": [rule(match={"callKind": ["group", "bot"]})]}, "rules[0].match.callKind[1]"),
        ({"rules": [rule(match={"groupId": []})]}, "rules[0].match.groupId"),
        ({"rules": [rule(match={"roomId": 7})]}, "rules[0].match.roomId"),
        ({"rules": [rule(match={"startedBy": [ALICE, "a b"]})]}, "rules[0].match.startedBy[1]"),
        ({"rules": [rule(match={"startedByPrefix": ""})]}, "rules[0].match.startedByPrefix"),
        ({"rules": [rule(match={"participant": ALICE})]}, "rules[0].match.participant"),
        ({"rules": [rule(record=[])]}, "rules[0].record"),
    ],
)
def test_a_bad_policy_is_a_400_naming_the_field(body: object, target: str) -> None:
    assert refusal(body).target == target


def test_a_policy_is_shown_as_written_but_without_a_callback_query() -> None:
    written = {
        "rules": [
            rule(
                "a",
                {"callKind": "group"},
                {"channel": "unmixed", "stateCallbackUrl": "https://h.example/cb?code=s"},
            )
        ]
    }
    shown = parse_policy(written).to_json()
    assert shown["rules"][0]["record"] == {"channel": "unmixed", "stateCallbackUrl": "https://h.example/cb"}
    assert shown["rules"][0]["match"] == {"callKind": "group"}
    kept = parse_policy(written).rules[0].record["stateCallbackUrl"]
    assert kept == "https://h.example/cb?code=s"  # kept, to be used by the start


def test_a_rule_gives_the_options_of_a_start_for_the_call() -> None:
    (policy_rule,) = parse_policy({"rules": [rule(record={"channel": "unmixed"})]}).rules
    call = CallLocator(kind="serverCallId", id="c2VydmVy")
    options = parse_record_options(policy_rule.record, call, default_callback_url="https://app.example/cb")
    expected = parse_start_request(
        {"serverCallId": "c2VydmVy", "channel": "unmixed"}, default_callback_url="https://app.example/cb"
    )
    assert options == expected
    assert (options.content, options.format) == ("audio", "wav")
