"""HTTP routes that control recordings and list the catalog (README: HTTP API)."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus

import azure.functions as func

from blueprints import blueprint
from shared.archive.records import files_due_after_stop
from shared.archive.states import ArchiveStatus
from shared.http import api_handler, empty_response, json_response, read_json
from shared.recording.catalog_table import list_catalog
from shared.recording.control import RecordingControl
from shared.recording.options import parse_start_request
from shared.recording_ids import checked_recording_id
from shared.settings import current_settings

bp = blueprint()


@bp.function_name("start_recording")
@bp.route(route="recordings", methods=["POST"])
@api_handler
def start_recording(req: func.HttpRequest) -> func.HttpResponse:
    settings = current_settings()
    options = parse_start_request(read_json(req), default_callback_url=settings.recording_state_callback_url)
    started = RecordingControl(settings).start(options)
    body = {
        "recordingId": started.recording_id,
        "state": started.state,
        "kind": started.kind,
        "options": options.to_json(),
    }
    return json_response(body, HTTPStatus.CREATED, {"Location": f"/api/recordings/{started.recording_id}"})


@bp.function_name("get_recording")
@bp.route(route="recordings/{recordingId}", methods=["GET"])
@api_handler
def get_recording(req: func.HttpRequest) -> func.HttpResponse:
    settings = current_settings()
    recording_id = checked_recording_id(req.route_params.get("recordingId"))
    return json_response(RecordingControl(settings).status(recording_id))


@bp.function_name("pause_recording")
@bp.route(route="recordings/{recordingId}/pause", methods=["POST"])
@api_handler
def pause_recording(req: func.HttpRequest) -> func.HttpResponse:
    RecordingControl(current_settings()).pause(checked_recording_id(req.route_params.get("recordingId")))
    return empty_response(HTTPStatus.ACCEPTED)


@bp.function_name("resume_recording")
@bp.route(route="recordings/{recordingId}/resume", methods=["POST"])
@api_handler
def resume_recording(req: func.HttpRequest) -> func.HttpResponse:
    RecordingControl(current_settings()).resume(checked_recording_id(req.route_params.get("recordingId")))
    return empty_response(HTTPStatus.ACCEPTED)


@bp.function_name("stop_recording")
@bp.route(route="recordings/{recordingId}", methods=["DELETE"])
@api_handler
def stop_recording(req: func.HttpRequest) -> func.HttpResponse:
    settings, recording_id = current_settings(), checked_recording_id(req.route_params.get("recordingId"))
    RecordingControl(settings).stop(recording_id)
    files_due_after_stop(
        settings, recording_id, datetime.now(UTC)
    )  # the watch calls it out if they never come
    return empty_response(HTTPStatus.NO_CONTENT)


@bp.function_name("list_recordings")
@bp.route(route="recordings", methods=["GET"])
@api_handler
def list_recordings(req: func.HttpRequest) -> func.HttpResponse:
    statuses = [status.value for status in ArchiveStatus]  # the archive wing owns them
    return json_response(
        list_catalog(current_settings(), dict(req.params), datetime.now(UTC), archive_statuses=statuses)
    )
