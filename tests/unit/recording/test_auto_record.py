"""Recording by policy, the pure parts: the retry orchestration driven by hand, the decision's JSON, the
waits between attempts and the repeatability headers of one attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.recording.auto_record import (
    ATTEMPT_ACTIVITY,
    FIRST_WAIT_S,
    MAX_WAIT_S,
    AttemptAnswer,
    RetryJob,
    keep_call_recorded,
    next_wait_s,
    repeatability,
)
from shared.recording.call_records import Decision, Outcome
from tests.support.orchestrations import Context, Task, drive

CALL = "aHR0cHM6Ly9hcGkuZXhhbXBsZS9jb252L3g/aT0x"


def run(job: RetryJob, answer: Any) -> tuple[Any, Context]:
    context = Context(input=job.to_json())

    def outcome(task: Task) -> Any:
        if task.kind == "timer":
            return None
        return answer

    return drive(keep_call_recorded(context), outcome, context), context  # type: ignore[arg-type]


def test_it_waits_on_a_durable_timer_then_makes_one_attempt() -> None:
    result, context = run(RetryJob(CALL, 5, 1), AttemptAnswer(Outcome.STARTED).to_json())
    timer, attempt = context.scheduled
    assert (timer.kind, timer.input) == ("timer", datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC))
    assert (attempt.name, attempt.input) == (ATTEMPT_ACTIVITY, {"serverCallId": CALL})
    assert (result, context.continued_with) == ("started", None)


@pytest.mark.parametrize("outcome", [Outcome.CALL_ENDED, Outcome.FAILED, Outcome.ALREADY_RECORDING])
def test_a_settled_attempt_ends_it(outcome: Outcome) -> None:
    result, context = run(RetryJob(CALL, 0, 3), AttemptAnswer(outcome).to_json())
    assert [task.kind for task in context.scheduled] == ["activity"]  # no wait asked: no timer
    assert (result, context.continued_with) == (outcome.value, None)


def test_a_failed_attempt_continues_as_new_with_the_next_wait() -> None:
    _, context = run(RetryJob(CALL, 5, 1), AttemptAnswer(Outcome.RETRYING, 10).to_json())
    assert context.continued_with == RetryJob(CALL, 10, 2).to_json()


def test_an_activity_that_fails_is_one_more_failed_attempt_waited_on_the_longest_wait() -> None:
    _, context = run(RetryJob(CALL, 5, 4), RuntimeError("storage is down"))
    assert context.continued_with == RetryJob(CALL, MAX_WAIT_S, 5).to_json()


def test_the_waits_double_from_five_seconds_to_a_minute() -> None:
    assert [next_wait_s(n) for n in range(1, 8)] == [FIRST_WAIT_S, 10, 20, 40, 60, 60, 60]


def test_one_attempt_sends_the_same_repeatability_headers_every_time_and_the_next_new_ones() -> None:
    at = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    first = Decision(Outcome.STARTING, at.isoformat(), attempts=1, attempt_at=at.isoformat())
    again = Decision(
        Outcome.STARTING, (at + timedelta(seconds=40)).isoformat(), attempts=1, attempt_at=at.isoformat()
    )
    second = Decision(
        Outcome.STARTING, at.isoformat(), attempts=2, attempt_at=(at + timedelta(seconds=5)).isoformat()
    )
    assert repeatability(CALL, first).headers() == repeatability(CALL, again).headers()
    headers = repeatability(CALL, second).headers()
    assert (
        headers["Repeatability-Request-ID"]
        != repeatability(CALL, first).headers()["Repeatability-Request-ID"]
    )
    assert headers["Repeatability-First-Sent"] == "Sun, 06 Dec 2026 12:00:05 GMT"
    assert repeatability("b3RoZXI=", first).headers() != repeatability(CALL, first).headers()


def test_a_decision_is_kept_as_camel_case_json_and_read_back() -> None:
    decision = Decision(
        Outcome.RETRYING,
        "2026-12-06T12:00:00+00:00",
        rule="group-calls",
        policy_version="W/\"datetime'2026'\"",
        attempts=2,
        last_error="502 UpstreamAuthenticationFailed: refused",
        next_attempt_at="2026-12-06T12:00:10+00:00",
    )
    body = decision.to_json()
    assert body == {
        "outcome": "retrying",
        "at": "2026-12-06T12:00:00+00:00",
        "rule": "group-calls",
        "policyVersion": "W/\"datetime'2026'\"",
        "attempts": 2,
        "lastError": "502 UpstreamAuthenticationFailed: refused",
        "nextAttemptAt": "2026-12-06T12:00:10+00:00",
    }
    assert Decision.from_json(body) == decision
