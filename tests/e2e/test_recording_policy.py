"""Recording by policy (issue 26), through the local host as a user and Event Grid call it: the policy over
HTTP with the function key, CallStarted and CallEnded from the emulator (or delivered by hand, at once),
recordings checked in the emulator, the decision in the catalog, the files archived as usual."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from devtools.acs_emulator import AcsEmulator, Call
from devtools.acs_emulator.events import build_call_event
from tests.support.local_stack import EVENT_FUNCTION, LocalStack

PARTICIPANTS = [
    f"8:acs:5a6810b6-df11-4ab2-ac85-ce9464dd0e17_0000002a-0000-0000-0000-00000000010{i}" for i in range(3)
]
GROUP_CALLS_UNMIXED = {
    "rules": [
        {
            "name": "group-calls",
            "match": {"callKind": "group"},
            "record": {"channel": "unmixed", "audioChannelParticipantOrdering": [PARTICIPANTS[1]]},
        }
    ]
}


def api(stack: LocalStack, method: str, path: str, **kwargs: Any) -> requests.Response:
    assert stack.host is not None
    headers = {"x-functions-key": stack.function_key, **kwargs.pop("headers", {})}
    return requests.request(
        method, f"{stack.host.base_url}/api/{path}", headers=headers, timeout=30, **kwargs
    )


def put_policy(stack: LocalStack, policy: dict[str, Any], **headers: str) -> requests.Response:
    return api(stack, "PUT", "recording-policy", json=policy, headers=headers)


def call_listing(stack: LocalStack, call: Call) -> dict[str, Any]:
    answer = api(stack, "GET", "recordings", params={"serverCallId": call.server_call_id})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def eventually(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"{what}: not met in {timeout} s"
        time.sleep(0.05)


def recordings_of(emulator: AcsEmulator, call: Call) -> list[Any]:
    return [r for r in emulator.recordings() if r.server_call_id == call.server_call_id]


def starts_of(emulator: AcsEmulator, call: Call) -> list[Any]:
    """The start requests ACS received for this call."""
    return [
        r
        for r in emulator.requests
        if r.method == "POST"
        and r.path.split("?")[0] == "/calling/recordings"
        and (r.json() or {}).get("callLocator", {}).get("serverCallId") == call.server_call_id
    ]


def decision(stack: LocalStack, call: Call) -> dict[str, Any] | None:
    record = call_listing(stack, call).get("call")
    return record["autoRecording"] if record else None


def settled(stack: LocalStack, call: Call, timeout: float = 20.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        found = decision(stack, call)
        return found if found and found["outcome"] not in ("starting", "retrying") else None

    found: dict[str, Any] = eventually(done, timeout, "a settled decision")
    return found


def test_a_call_started_delivered_three_times_at_once_starts_exactly_one_recording_with_the_rules_options(
    local_stack: LocalStack,
) -> None:
    emulator = local_stack.emulator
    assert put_policy(local_stack, GROUP_CALLS_UNMIXED).status_code == 200
    emulator.clear_event_webhooks()  # this test delivers the CallStarted itself, three times at once
    call = emulator.create_call(PARTICIPANTS)
    body = json.dumps([build_call_event(call, emulator.event_topic)])
    assert local_stack.host is not None
    url = local_stack.host.event_grid_url(EVENT_FUNCTION)
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(
                    url, data=body, headers={"aeg-event-type": "Notification"}, timeout=60
                ),
                range(3),
            )
        )
    assert [answer.status_code // 100 for answer in answers] == [2, 2, 2]
    outcome = settled(local_stack, call)
    assert emulator.wait_for_callbacks(5)
    (recording,) = recordings_of(emulator, call)
    assert (recording.content_type, recording.channel_type, recording.format_type) == (
        "audio",
        "unmixed",
        "wav",
    )
    assert [p["rawId"] for p in recording.options["audioChannelParticipantOrdering"]] == [PARTICIPANTS[1]]
    assert (outcome["outcome"], outcome["rule"], outcome["recordingId"]) == (
        "started",
        "group-calls",
        recording.recording_id,
    )
    (entry,) = call_listing(local_stack, call)["recordings"]
    assert (entry["recordingId"], entry["policyRule"]) == (recording.recording_id, "group-calls")
    time.sleep(0.5)  # a late redelivery, and any retry the losers started, have had their chance
    assert len(recordings_of(emulator, call)) == 1
    assert len(starts_of(emulator, call)) == 1  # one delivery won the claim; ACS heard of the call once


def test_a_call_no_rule_matches_is_not_recorded_and_the_catalog_says_why(local_stack: LocalStack) -> None:
    emulator = local_stack.emulator
    assert put_policy(local_stack, GROUP_CALLS_UNMIXED).status_code == 200
    call = emulator.create_call(PARTICIPANTS[:2], kind="twoParty")
    outcome = settled(local_stack, call)
    assert outcome["outcome"] == "noRuleMatched"
    assert "'group-calls' (callKind)" in outcome["reason"]
    assert outcome["policyVersion"]
    listing = call_listing(local_stack, call)
    assert listing["recordings"] == []
    assert listing["call"]["callKind"] == "twoParty"
    assert recordings_of(emulator, call) == []


def test_call_ended_makes_the_policy_recording_awaiting_files_without_a_stop_and_its_files_archive(
    local_stack: LocalStack,
) -> None:
    emulator = local_stack.emulator
    emulator.call_duration_field = "callDurationInSeconds"
    emulator.file_status_delay = 3.0  # the files come later than the call's end, so AwaitingFiles shows
    assert put_policy(local_stack, GROUP_CALLS_UNMIXED).status_code == 200
    call = emulator.create_call(PARTICIPANTS)
    recording_id = settled(local_stack, call)["recordingId"]
    eventually(lambda: emulator.recording(recording_id).state == "active", what="the recording is active")
    emulator.clear_requests()
    emulator.end_call(call.server_call_id, duration_s=4.0)

    def archive_status() -> str | None:
        entry = api(local_stack, "GET", f"recordings/{recording_id}").json()["catalog"]
        return (entry.get("archive") or {}).get("status")

    assert eventually(archive_status, what="an archive status") == "AwaitingFiles"
    ended = call_listing(local_stack, call)["call"]
    assert ended["endedAt"] is not None
    assert ended["durationSeconds"] > 0
    assert eventually(lambda: archive_status() == "Completed", 60, "the archive completes")
    archive = api(local_stack, "GET", f"recordings/{recording_id}/archive").json()
    (chunk,) = emulator.recording_files(recording_id).chunks
    assert [c["sha256"] for c in archive["manifest"]["chunks"]] == [chunk.content_sha256()]
    stops = [
        r for r in emulator.requests if r.method == "DELETE" and r.path.startswith("/calling/recordings")
    ]
    assert stops == []  # the call's end stopped it: no stop call


def test_a_bad_policy_is_the_400_a_bad_start_gets_naming_the_field(local_stack: LocalStack) -> None:
    record = {"channel": "mixed", "audioChannelParticipantOrdering": [PARTICIPANTS[0]]}
    start = api(local_stack, "POST", "recordings", json={"serverCallId": "c2VydmVy", **record})
    policy = put_policy(local_stack, {"rules": [{"name": "r", "match": {}, "record": record}]})
    assert (start.status_code, policy.status_code) == (400, 400)
    start_error, policy_error = start.json()["error"], policy.json()["error"]
    assert (policy_error["code"], policy_error["message"]) == (start_error["code"], start_error["message"])
    assert policy_error["target"] == f"rules[0].record.{start_error['target']}"
    bad_kind = put_policy(
        local_stack, {"rules": [{"name": "r", "match": {"callKind": ["group", "pstn"]}, "record": {}}]}
    )
    assert (bad_kind.status_code, bad_kind.json()["error"]["target"]) == (400, "rules[0].match.callKind[1]")
    assert api(local_stack, "GET", "recording-policy").json() == {"rules": []}  # nothing was stored


def test_the_policy_is_versioned_and_a_lost_update_is_a_412(local_stack: LocalStack) -> None:
    first = put_policy(local_stack, GROUP_CALLS_UNMIXED, **{"If-None-Match": "*"})
    assert first.status_code == 200
    read = api(local_stack, "GET", "recording-policy")
    assert read.json() == GROUP_CALLS_UNMIXED
    assert read.headers["ETag"] == first.headers["ETag"]
    off = {"rules": []}
    second = put_policy(local_stack, off, **{"If-Match": read.headers["ETag"]})
    assert second.status_code == 200
    assert second.headers["ETag"] != read.headers["ETag"]
    lost = put_policy(local_stack, GROUP_CALLS_UNMIXED, **{"If-Match": read.headers["ETag"]})
    assert (lost.status_code, lost.json()["error"]["code"]) == (412, "PolicyChanged")
    again = put_policy(local_stack, GROUP_CALLS_UNMIXED, **{"If-None-Match": "*"})
    assert again.status_code == 412
    assert api(local_stack, "GET", "recording-policy").json() == off


def test_an_etag_the_policy_never_had_is_a_412_not_a_storage_error(local_stack: LocalStack) -> None:
    """A strong form of the weak ETag GET answered (a client dropping `W/`), or any quoted tag, cannot
    match: storage refuses such a tag as malformed (400), which must not reach the client as a 502."""
    current = put_policy(local_stack, {"rules": []}).headers["ETag"]
    for tag in (current.removeprefix("W/"), '"abc"'):
        answer = put_policy(local_stack, GROUP_CALLS_UNMIXED, **{"If-Match": tag})
        error = answer.json()["error"]
        assert (answer.status_code, error["code"], error["target"]) == (412, "PolicyChanged", "If-Match"), tag
    assert api(local_stack, "GET", "recording-policy").json() == {"rules": []}


def test_creating_a_policy_that_exists_names_if_none_match_as_at_fault(local_stack: LocalStack) -> None:
    put_policy(local_stack, {"rules": []})
    answer = put_policy(local_stack, GROUP_CALLS_UNMIXED, **{"If-None-Match": "*"})
    assert (answer.status_code, answer.json()["error"]["target"]) == (412, "If-None-Match")


def big_policy(characters: int) -> dict[str, Any]:
    """A valid policy whose compact JSON is about `characters` long: rules of 20 room ids of 200
    characters each (the policy's own limits: 20 values per key, 256 characters per value)."""
    rules = [
        {
            "name": f"rooms-{rule}",
            "match": {"roomId": [f"{rule:02d}-{room:02d}-".ljust(200, "r") for room in range(20)]},
            "record": {"channel": "mixed"},
        }
        for rule in range(characters // 4200)
    ]
    return {"rules": rules}


def test_a_policy_too_large_to_store_is_a_400_before_storage_is_asked(local_stack: LocalStack) -> None:
    """Table storage keeps at most 32 Ki characters in a string property; a 37,172-character policy fits
    in a 64 KiB body but came back as a 502 UpstreamError (and as a 412 with If-Match)."""
    current = put_policy(local_stack, {"rules": []}).headers["ETag"]
    for headers in ({}, {"If-Match": current}):
        answer = put_policy(local_stack, big_policy(40_000), **headers)
        error = answer.json()["error"]
        assert (answer.status_code, error["code"], error["target"]) == (400, "InvalidRequest", "rules")
    assert api(local_stack, "GET", "recording-policy").json() == {"rules": []}


def test_a_policy_near_the_limit_is_stored(local_stack: LocalStack) -> None:
    policy = big_policy(30_000)  # 28,914 characters
    assert put_policy(local_stack, policy).status_code == 200
    assert api(local_stack, "GET", "recording-policy").json() == policy
    put_policy(local_stack, {"rules": []})


def test_a_failed_start_is_retried_while_the_call_lives_and_reported(
    local_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = local_stack.emulator
    assert put_policy(local_stack, GROUP_CALLS_UNMIXED).status_code == 200
    # ACS refuses the first start (403: not retried by the SDK), as while a new role assignment spreads
    emulator.add_fault("status", r"^/calling/recordings$", method="POST", status=403, count=1)
    with caplog.at_level(logging.INFO):
        call = emulator.create_call(PARTICIPANTS)
        outcome = settled(local_stack, call)
    assert (outcome["outcome"], outcome["attempts"]) == ("started", 2)
    assert "502 UpstreamAuthenticationFailed" in outcome["lastError"]
    assert len(recordings_of(emulator, call)) == 1
    failures = [r for r in caplog.records if "attempt 1 failed" in r.getMessage()]
    assert [r.levelno for r in failures] == [logging.ERROR]
    assert "next attempt at" in failures[0].getMessage()


def test_a_call_that_ends_stops_the_retries(local_stack: LocalStack) -> None:
    emulator = local_stack.emulator
    assert put_policy(local_stack, GROUP_CALLS_UNMIXED).status_code == 200
    emulator.add_fault("status", r"^/calling/recordings$", method="POST", status=403, count=None)
    call = emulator.create_call(PARTICIPANTS)
    eventually(lambda: (decision(local_stack, call) or {}).get("attempts", 0) >= 2, what="a second attempt")
    emulator.end_call(call.server_call_id)
    outcome = settled(local_stack, call)
    assert outcome["outcome"] == "callEnded"
    from shared.recording.auto_record import retry_instance_id  # here: the test must load without it

    assert local_stack.engine is not None
    status = local_stack.engine.wait_for(retry_instance_id(call.server_call_id), timeout=20)
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "callEnded")
    starts = len([r for r in emulator.requests if r.method == "POST" and r.path == "/calling/recordings"])
    time.sleep(0.5)
    assert (
        len([r for r in emulator.requests if r.method == "POST" and r.path == "/calling/recordings"])
        == starts
    )
    assert recordings_of(emulator, call) == []
