"""Archive triggers: the Durable orchestration and its chunk activities; the archive routes. (The
Event Grid trigger that starts archives is blueprints/events.py.)"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from blueprints import ActivityInput
from shared.archive import activities
from shared.archive.chunk_links import checked_index, chunk_link, wants_redirect
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
from shared.archive.status import archive_status
from shared.http import api_handler, api_handler_async, json_response
from shared.recording_ids import checked_recording_id
from shared.settings import current_settings

bp = df.Blueprint()


@bp.function_name(ORCHESTRATOR)
@bp.orchestration_trigger(context_name="context")
def archive_recording(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    return (yield from archive_orchestration(context))


@bp.function_name(ARCHIVE_BATCH)
@bp.orchestration_trigger(context_name="context")
def archive_chunk_batch(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    return (yield from archive_batch_orchestration(context))


@bp.function_name(ARCHIVE_CHUNK)
@bp.activity_trigger(input_name="payload")
def archive_chunk(payload: ActivityInput) -> dict[str, Any]:
    return activities.archive_chunk_activity(current_settings(), payload)


@bp.function_name(RECORD_ARCHIVE)
@bp.activity_trigger(input_name="manifest")
def record_archive(manifest: ActivityInput) -> None:
    activities.record_archive_activity(current_settings(), manifest)


@bp.function_name(DELETE_SOURCE_CHUNK)
@bp.activity_trigger(input_name="payload")
def delete_source_chunk(payload: ActivityInput) -> str:
    return activities.delete_source_chunk_activity(current_settings(), payload)


@bp.function_name("get_archive")
@bp.route(route="recordings/{recordingId}/archive", methods=["GET"])
@bp.durable_client_input(client_name="client")
@api_handler_async
async def get_archive(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    return json_response(await archive_status(current_settings(), client, recording_id))


@bp.function_name("rerun_archive")
@bp.route(route="recordings/{recordingId}/archive", methods=["POST"])
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
@bp.route(route="recordings/{recordingId}/content", methods=["DELETE"])
@api_handler
def delete_recording_content(req: func.HttpRequest) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    return json_response(delete_archived_source(current_settings(), recording_id), HTTPStatus.OK)


def _chunk_link_response(req: func.HttpRequest, *, metadata: bool) -> func.HttpResponse:
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    index = checked_index(req.route_params.get("index"))
    redirect = wants_redirect(req.params.get("redirect"))
    found = chunk_link(current_settings(), recording_id, index, metadata=metadata, now=datetime.now(UTC))
    no_store = {"Cache-Control": "no-store"}  # the link is a credential until it expires
    if not redirect:
        return json_response(found.to_json(), HTTPStatus.OK, no_store)
    return func.HttpResponse(status_code=HTTPStatus.FOUND, headers={**no_store, "Location": found.link.url})


@bp.function_name("get_chunk_link")
@bp.route(route="recordings/{recordingId}/archive/chunks/{index}", methods=["GET"])
@api_handler
def get_chunk_link(req: func.HttpRequest) -> func.HttpResponse:
    return _chunk_link_response(req, metadata=False)


@bp.function_name("get_chunk_metadata_link")
@bp.route(route="recordings/{recordingId}/archive/chunks/{index}/metadata", methods=["GET"])
@api_handler
def get_chunk_metadata_link(req: func.HttpRequest) -> func.HttpResponse:
    return _chunk_link_response(req, metadata=True)
