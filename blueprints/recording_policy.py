"""The recording policy (docs/api.md, Recording by policy): its routes, and the orchestration that retries
a start the policy asked for and ACS did not grant (shared.recording.auto_record)."""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints import ActivityInput
from shared.http import api_handler, json_response, read_json
from shared.recording.auto_record import (
    ATTEMPT_ACTIVITY,
    RETRY_ORCHESTRATOR,
    attempt_activity,
    keep_call_recorded,
)
from shared.recording.policy import parse_policy
from shared.recording.policy_store import StoredPolicy, precondition, read_policy, write_policy
from shared.settings import current_settings

bp = df.Blueprint()


def _policy_response(stored: StoredPolicy) -> func.HttpResponse:
    headers = {"ETag": stored.etag} if stored.etag else {}
    return json_response(stored.policy.to_json(), headers={**headers, "Cache-Control": "no-store"})


@bp.function_name("get_recording_policy")
@bp.route(route="recording-policy", methods=["GET"])
@api_handler
def get_recording_policy(req: func.HttpRequest) -> func.HttpResponse:
    return _policy_response(read_policy(current_settings()))


@bp.function_name("put_recording_policy")
@bp.route(route="recording-policy", methods=["PUT"])
@api_handler
def put_recording_policy(req: func.HttpRequest) -> func.HttpResponse:
    condition = precondition(req.headers.get("if-match"), req.headers.get("if-none-match"))
    policy = parse_policy(read_json(req))
    return _policy_response(write_policy(current_settings(), policy, condition, datetime.now(UTC)))


@bp.function_name(RETRY_ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def keep_call_recorded_orchestrator(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    return (yield from keep_call_recorded(context))


@bp.function_name(ATTEMPT_ACTIVITY)
@bp.activity_trigger(input_name="payload")
def start_call_recording(payload: ActivityInput) -> dict[str, Any]:
    return attempt_activity(current_settings(), payload)
