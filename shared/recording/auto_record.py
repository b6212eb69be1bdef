"""Recording by policy: a call that starts is recorded once, with its rule's options, if a rule matches.

On CallStarted (shared.archive.acs_events dispatches it here):

1. The policy decides (shared.recording.policy, pure): the first matching rule, or none.
2. The decision is claimed in the catalog's record of the call (shared.recording.call_records): the
   first delivery to create it wins; every other delivery of the event, however concurrent, finds
   it and starts nothing. No match is written down too, with the reason.
3. The winner starts the recording on the event's `serverCallId` at once (a start is most useful
   at the beginning of the call), with Repeatability-Request-ID and -First-Sent fixed per attempt
   and kept in the catalog, so that sending one attempt again (a retry, or recovery after a crash)
   gets ACS's answer to the first send rather than a second recording. ACS answering that the call
   is already being recorded (409) is success.
4. A failed start is written down with its reason and retried by a Durable orchestration
   (`keep_call_recorded`, one instance per call): a Durable timer between attempts, the wait
   doubling from 5 s to a minute, each attempt an activity. It stops when a recording started,
   when the call ended (CallEnded marks the call; ACS answers 404 for a call that is over: taken so
   from the third attempt on), when
   ACS refuses the options (400: trying again cannot help), or after 24 hours. Every failure is
   logged as an error and shown in the catalog (`GET /api/recordings?serverCallId=...`, `call`).

Why a Durable orchestration and not the archive watch's 5-minute timer: a call lasts minutes, and a
start retried five minutes late has missed them. Why not Event Grid's redelivery (raising): it
would retry on Event Grid's schedule up to its dead-letter container and count a decided, reported
failure as an undelivered event. A delivery that finds a start in flight whose owner may have died
(the claim is there, no orchestration is) starts the same orchestration, which first waits
CLAIM_GRACE_S and then settles the claim, sending the in-flight attempt again with its own
repeatability headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Generator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any, Final

import azure.durable_functions as df

from shared.durable_client import DurableClient
from shared.errors import ApiError, short_error
from shared.recording.call_events import CallEvent
from shared.recording.call_records import (
    SETTLED,
    CallRecords,
    Decision,
    Outcome,
    call_records,
    decision_fields,
    decision_of,
)
from shared.recording.catalog_index import key_hash
from shared.recording.control import RecordingControl, Repeatability
from shared.recording.options import CallLocator, parse_record_options
from shared.recording.policy_store import read_policy
from shared.settings import Settings
from shared.times import as_utc, parse_time
from shared.wire import Wire

_LOG = logging.getLogger(__name__)
RETRY_ORCHESTRATOR: Final = "keep_call_recorded"
ATTEMPT_ACTIVITY: Final = "start_call_recording"
FIRST_WAIT_S: Final = 5
MAX_WAIT_S: Final = 60
CLAIM_GRACE_S: Final = 30  # a start in flight this long without an answer: its owner may be gone
GIVE_UP_AFTER: Final = timedelta(hours=24)
# ACS answers 404 for a call it does not know or that is over. Whether it can also answer so just after
# CallStarted, before the call can be recorded, is UNVERIFIED: a 404 is retried like an outage until
# this many attempts were made (about 15 s), then the call is taken for over.
CALL_GONE_AFTER_ATTEMPTS: Final = 3
_RECORD: Final = "record"  # the rule's options as the claim took them: every attempt uses these
_REPEATABILITY: Final = uuid.UUID("5b1c4e3a-58a8-4f55-9d57-3c8e2f1b7a10")  # namespace of our request ids


def retry_instance_id(server_call_id: str) -> str:
    return f"autorecord-{key_hash(server_call_id)}"


def repeatability(server_call_id: str, decision: Decision) -> Repeatability:
    """One attempt's repeatability headers: the same for every send of that attempt."""
    request_id = uuid.uuid5(_REPEATABILITY, f"{server_call_id}\n{decision.attempts}")
    return Repeatability(request_id, as_utc(parse_time(decision.attempt_at or decision.at)))


async def on_call_started(
    settings: Settings, client: DurableClient, call: CallEvent, *, now: datetime
) -> None:
    """Decide for a call that started, and record it if a rule says so; the decision is kept on the
    call's record (nothing when the policy is off)."""
    stored = await asyncio.to_thread(read_policy, settings)
    if not stored.policy.enabled:
        _LOG.info("Call %s started; auto-recording is off (the policy has no rules)", call.server_call_id)
        return
    records = call_records(settings)
    rule = stored.policy.first_match(call)
    at = now.isoformat()
    if rule is None:
        decision = Decision(
            Outcome.NO_RULE_MATCHED, at, policy_version=stored.etag, reason=stored.policy.why_not(call)
        )
    else:
        decision = Decision(
            Outcome.STARTING,
            at,
            rule=rule.name,
            policy_version=stored.etag,
            attempts=1,
            attempt_at=at,
            first_attempt_at=at,
        )

    def claim(entity: dict[str, Any]) -> dict[str, Any]:
        if decision_of(entity) is not None:
            return {}  # another delivery of this event decided already
        fields = {"startedAt": call.time.isoformat(), **decision_fields(decision)}
        if rule is not None and entity.get("endedAt"):  # CallEnded came first: nothing to record
            ended = Decision(Outcome.CALL_ENDED, at, rule=rule.name, policy_version=stored.etag)
            return {**fields, **decision_fields(replace(ended, reason="the call had ended already"))}
        if rule is not None:
            fields[_RECORD] = json.dumps(dict(rule.record), separators=(",", ":"))
        return fields

    won = await asyncio.to_thread(records.update, call.server_call_id, claim, create_from=call)
    if won is None:
        await _another_delivery_decided(settings, client, call.server_call_id)
        return
    claimed = decision_of(won)
    assert claimed is not None
    if claimed.outcome != Outcome.STARTING:
        _LOG.info("Call %s is not recorded: %s", call.server_call_id, claimed.reason or claimed.outcome)
        return
    answer = await asyncio.to_thread(attempt_start, settings, call.server_call_id, now=now, owner=True)
    if answer.outcome in (Outcome.RETRYING, Outcome.STARTING):
        await _ensure_retrying(client, call.server_call_id, answer.wait_s)


async def _another_delivery_decided(settings: Settings, client: DurableClient, server_call_id: str) -> None:
    """This delivery lost the claim. If the winner's start is unsettled and no orchestration looks
    after it (the winner may have died between its claim and its answer), start one."""
    decision = decision_of(await asyncio.to_thread(call_records(settings).read, server_call_id))
    if decision is not None and decision.outcome not in SETTLED:
        await _ensure_retrying(client, server_call_id, CLAIM_GRACE_S)


async def _ensure_retrying(client: DurableClient, server_call_id: str, wait_s: int) -> None:
    """Start the call's retry orchestration unless it exists (the instance id is the call's)."""
    instance = retry_instance_id(server_call_id)
    if (await client.get_status(instance)).runtime_status is not None:
        return
    try:
        await client.start_new(RETRY_ORCHESTRATOR, instance, RetryJob(server_call_id, wait_s, 1).to_json())
    except Exception:
        if (await client.get_status(instance)).runtime_status is None:
            raise  # not a concurrent start that won: the delivery fails and Event Grid retries it
        _LOG.info("The retry of call %s was started by a concurrent delivery", server_call_id)


@dataclass(frozen=True)
class AttemptAnswer(Wire):
    """What one attempt came to, for the orchestration: settled, or try again in `wait_s`."""

    outcome: Outcome
    wait_s: int = 0

    @property
    def settled(self) -> bool:
        return self.outcome in SETTLED


def next_wait_s(attempts: int) -> int:
    """5, 10, 20, 40, 60, 60, ... seconds after the `attempts`-th attempt failed."""
    return int(min(FIRST_WAIT_S * 2 ** max(attempts - 1, 0), MAX_WAIT_S))


def attempt_start(
    settings: Settings, server_call_id: str, *, now: datetime, owner: bool = False
) -> AttemptAnswer:
    """One attempt (inline on CallStarted by the delivery that claimed it, the `owner`; then as the
    retry activity): begin it in the catalog, send the start, write down how it went. Idempotent: a
    settled call is left alone, and a start in flight for longer than CLAIM_GRACE_S (its sender may
    have died) is sent again with its own repeatability headers; a younger one is waited for."""
    records = call_records(settings)
    entity = records.read(server_call_id)
    decision = decision_of(entity)
    if entity is None or decision is None:
        _LOG.warning("Call %s has no recording decision to act on", server_call_id)
        return AttemptAnswer(Outcome.FAILED)
    if decision.outcome in SETTLED:
        return AttemptAnswer(decision.outcome)
    if entity.get("endedAt"):
        return _settle(records, server_call_id, decision, Outcome.CALL_ENDED, now, reason="the call ended")
    in_flight_for = now - as_utc(parse_time(decision.attempt_at or decision.at))
    if (
        decision.outcome == Outcome.STARTING
        and not owner
        and in_flight_for < timedelta(seconds=CLAIM_GRACE_S)
    ):
        return AttemptAnswer(Outcome.STARTING, max(1, CLAIM_GRACE_S - int(in_flight_for.total_seconds())))
    if decision.outcome == Outcome.RETRYING:  # begin the next attempt: new repeatability headers
        decision = replace(
            decision,
            outcome=Outcome.STARTING,
            at=now.isoformat(),
            attempts=decision.attempts + 1,
            attempt_at=now.isoformat(),
            next_attempt_at=None,
        )
        expected = decision.attempts - 1
        began = records.update(
            server_call_id,
            lambda current: (
                decision_fields(decision)
                if (found := decision_of(current)) is not None
                and found.outcome == Outcome.RETRYING
                and found.attempts == expected
                else {}
            ),
        )
        if began is None:  # another attempt began or settled it meanwhile
            now_decided = decision_of(records.read(server_call_id))
            return AttemptAnswer(now_decided.outcome if now_decided else Outcome.FAILED, next_wait_s(1))
    options = parse_record_options(
        json.loads(str(entity.get(_RECORD) or "{}")),
        CallLocator(kind="serverCallId", id=server_call_id),
        default_callback_url=settings.recording_state_callback_url,
    )
    try:
        started = RecordingControl(settings).start(
            options, policy_rule=decision.rule, repeatability=repeatability(server_call_id, decision)
        )
    except ApiError as error:
        return _failed(records, server_call_id, decision, error, now)
    except Exception as error:  # a setting, a client: reported and retried like an outage
        _LOG.exception("Auto-recording call %s: the start failed unexpectedly", server_call_id)
        return _failed(
            records, server_call_id, decision, ApiError(500, "InternalError", type(error).__name__), now
        )
    _LOG.info(
        "Call %s is recorded by rule '%s': recording %s", server_call_id, decision.rule, started.recording_id
    )
    return _settle(records, server_call_id, decision, Outcome.STARTED, now, recording_id=started.recording_id)


def _failed(
    records: CallRecords, server_call_id: str, decision: Decision, error: ApiError, now: datetime
) -> AttemptAnswer:
    """Sort a refused start: already recording (success), call over, options refused, or retry."""
    if error.status == HTTPStatus.CONFLICT:
        return _settle(
            records,
            server_call_id,
            decision,
            Outcome.ALREADY_RECORDING,
            now,
            reason=short_error(error.message),
        )
    if error.status == HTTPStatus.NOT_FOUND and decision.attempts >= CALL_GONE_AFTER_ATTEMPTS:
        _LOG.warning("Call %s was not recorded: ACS says it is unknown or over", server_call_id)
        return _settle(
            records, server_call_id, decision, Outcome.CALL_ENDED, now, reason=short_error(error.message)
        )
    reason = f"{error.status} {error.code}: {short_error(error.message)}"
    first = as_utc(parse_time(decision.first_attempt_at or decision.at))
    if error.status == HTTPStatus.BAD_REQUEST or now - first >= GIVE_UP_AFTER:
        _LOG.error(
            "Auto-recording call %s failed for good after %d attempt(s) (rule '%s'): %s",
            server_call_id,
            decision.attempts,
            decision.rule,
            reason,
        )
        return _settle(records, server_call_id, decision, Outcome.FAILED, now, reason=reason)
    wait = next_wait_s(decision.attempts)
    next_at = (now + timedelta(seconds=wait)).isoformat()
    _LOG.error(
        "Auto-recording call %s: attempt %d failed (%s); next attempt at %s",
        server_call_id,
        decision.attempts,
        reason,
        next_at,
    )
    retrying = replace(
        decision, outcome=Outcome.RETRYING, at=now.isoformat(), last_error=reason, next_attempt_at=next_at
    )
    written = _write_if_current(records, server_call_id, decision, retrying)
    return AttemptAnswer(written.outcome, wait)


def _settle(
    records: CallRecords,
    server_call_id: str,
    decision: Decision,
    outcome: Outcome,
    now: datetime,
    *,
    reason: str | None = None,
    recording_id: str | None = None,
) -> AttemptAnswer:
    settled = replace(
        decision,
        outcome=outcome,
        at=now.isoformat(),
        reason=reason,
        recording_id=recording_id,
        next_attempt_at=None,
    )
    return AttemptAnswer(_write_if_current(records, server_call_id, decision, settled).outcome)


def _write_if_current(
    records: CallRecords, server_call_id: str, attempt: Decision, result: Decision
) -> Decision:
    """Write this attempt's result unless another writer moved on: a later attempt began, or it
    settled already (a recording id found is kept: STARTED beats ALREADY_RECORDING). Answers the
    decision the catalog holds afterwards."""
    written: Decision = result

    def change(entity: dict[str, Any]) -> dict[str, Any]:
        nonlocal written
        current = decision_of(entity)
        if current is None:
            written = result
            return decision_fields(result)
        late = current.attempts != attempt.attempts or current.outcome in SETTLED
        upgrade = result.outcome == Outcome.STARTED and current.outcome == Outcome.ALREADY_RECORDING
        if late and not upgrade:
            written = current
            return {}
        written = result
        return decision_fields(result)

    records.update(server_call_id, change)
    return written


@dataclass(frozen=True)
class RetryJob(Wire):
    """The retry orchestration's input: which call, how long to wait first, which round."""

    server_call_id: str
    wait_s: int
    round: int


def keep_call_recorded(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """The retry orchestration (deterministic): wait on a Durable timer, make one attempt (an
    activity), settle or `continue_as_new` for the next, so history stays one attempt long. An
    activity that fails (storage down) is one more failed attempt, waited on the longest wait."""
    job = RetryJob.from_json(context.get_input())
    if job.wait_s > 0:
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=job.wait_s))
    try:
        raw = yield context.call_activity(ATTEMPT_ACTIVITY, {"serverCallId": job.server_call_id})
        answer = AttemptAnswer.from_json(raw)
    except Exception:
        answer = AttemptAnswer(Outcome.RETRYING, MAX_WAIT_S)
    if answer.settled:
        return answer.outcome.value
    context.continue_as_new(replace(job, wait_s=max(answer.wait_s, 1), round=job.round + 1).to_json())
    return None


def attempt_activity(settings: Settings, payload: dict[str, Any]) -> dict[str, Any]:
    """The retry orchestration's activity: one attempt, now."""
    return attempt_start(settings, str(payload["serverCallId"]), now=datetime.now(UTC)).to_json()
