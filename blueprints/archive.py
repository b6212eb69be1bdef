"""Archive triggers: Event Grid -> Durable orchestration -> chunk activities; archive routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Generator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Dict  # noqa: UP035 (see ActivityInput)

import azure.durable_functions as df
import azure.functions as func

from shared.archive.activities import delete_source_chunk, record_archive, run_archive_chunk, store_job
from shared.archive.chunk_links import checked_index, chunk_link
from shared.archive.events import parse_archive_event
from shared.archive.orchestration import (
    ARCHIVE_BATCH,
    ARCHIVE_CHUNK,
    DELETE_SOURCE_CHUNK,
    ORCHESTRATOR,
    RECORD_ARCHIVE,
    archive_batch_orchestration,
    archive_orchestration,
)
from shared.archive.rerun import rerun_archive
from shared.archive.source_deletion import delete_archived_source
from shared.archive.start import start_archive
from shared.archive.status import archive_status
from shared.errors import InvalidEventError
from shared.http import api_handler, api_handler_async, json_response
from shared.recording_ids import checked_recording_id
from shared.settings import current_settings

bp = df.Blueprint()
_LOG = logging.getLogger(__name__)

# The Python worker refuses a binding parameter annotated with a builtin generic such as
# `dict[str, Any]` ("invalid non-type annotation"): that function never loads on Azure. typing's
# alias passes its check. tests/unit/test_worker_indexing.py holds the app to the worker's rules.
ActivityInput = Dict[str, Any]  # noqa: UP006


@bp.function_name("on_recording_file_status_updated")
@bp.event_grid_trigger(arg_name="event")
@bp.durable_client_input(client_name="client")
async def on_recording_file_status_updated(
    event: func.EventGridEvent, client: df.DurableOrchestrationClient
) -> None:
    # The host hands an EventGridEvent for the Event Grid schema and a CloudEvent for CloudEvents 1.0.
    if isinstance(event, func.CloudEvent):
        event_type, event_time = event.type, event.time
    else:
        event_type, event_time = event.event_type, event.event_time
    try:
        job = parse_archive_event(
            event_type=event_type,
            subject=event.subject or "",
            event_id=event.id,
            event_time=event_time,
            data=event.get_json(),
        )
    except InvalidEventError as error:
        # Dropped, not raised: a malformed or forged event must not be retried forever.
        _LOG.warning("Dropped event %s (%s): %s", event.id, event_type, error)
        return
    settings = current_settings()
    await asyncio.to_thread(store_job, settings, job)  # kept for a re-run; a failure here is retried
    await start_archive(client, job, delete_source=settings.archive_delete_source)


@bp.function_name(ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def archive_recording(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from archive_orchestration(context))


@bp.function_name(ARCHIVE_BATCH)
@bp.orchestration_trigger(context_name="context")
def archive_chunk_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    return (yield from archive_batch_orchestration(context))


@bp.function_name(ARCHIVE_CHUNK)
@bp.activity_trigger(input_name="payload")
def archive_chunk(payload: ActivityInput) -> dict[str, Any]:
    return run_archive_chunk(current_settings(), payload)


@bp.function_name(RECORD_ARCHIVE)
@bp.activity_trigger(input_name="manifest")
def record_archive_activity(manifest: ActivityInput) -> None:
    record_archive(current_settings(), manifest)


@bp.function_name(DELETE_SOURCE_CHUNK)
@bp.activity_trigger(input_name="payload")
def delete_source_chunk_activity(payload: ActivityInput) -> bool:
    return delete_source_chunk(current_settings(), str(payload["deleteLocation"]))


@bp.function_name("get_archive")
@bp.route(route="recordings/{recordingId}/archive", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@api_handler_async
async def get_archive(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    return json_response(await archive_status(current_settings(), client, recording_id))


@bp.function_name("rerun_archive")
@bp.route(route="recordings/{recordingId}/archive", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@bp.durable_client_input(client_name="client")
@api_handler_async
async def rerun_archive_route(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    body = await rerun_archive(current_settings(), client, recording_id)
    location = {"Location": f"/api/recordings/{recording_id}/archive"}
    return json_response(body, HTTPStatus.ACCEPTED, location)


@bp.function_name("delete_recording_content")
@bp.route(route="recordings/{recordingId}/content", methods=["DELETE"], auth_level=func.AuthLevel.FUNCTION)
@api_handler
def delete_recording_content(req: func.HttpRequest) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    return json_response(delete_archived_source(current_settings(), recording_id), HTTPStatus.OK)


def _chunk_link_response(req: func.HttpRequest, *, metadata: bool) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    index = checked_index(req.route_params.get("index"))
    found = chunk_link(current_settings(), recording_id, index, metadata=metadata, now=datetime.now(UTC))
    no_store = {"Cache-Control": "no-store"}  # the link is a credential until it expires
    if req.params.get("redirect", "").lower() == "false":
        return json_response(found.to_json(), HTTPStatus.OK, no_store)
    return func.HttpResponse(status_code=HTTPStatus.FOUND, headers={**no_store, "Location": found.link.url})


@bp.function_name("get_chunk_link")
@bp.route(
    route="recordings/{recordingId}/archive/chunks/{index}",
    methods=["GET"],
    auth_level=func.AuthLevel.FUNCTION,
)
@api_handler
def get_chunk_link(req: func.HttpRequest) -> func.HttpResponse:
    return _chunk_link_response(req, metadata=False)


@bp.function_name("get_chunk_metadata_link")
@bp.route(
    route="recordings/{recordingId}/archive/chunks/{index}/metadata",
    methods=["GET"],
    auth_level=func.AuthLevel.FUNCTION,
)
@api_handler
def get_chunk_metadata_link(req: func.HttpRequest) -> func.HttpResponse:
    return _chunk_link_response(req, metadata=True)
