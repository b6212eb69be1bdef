"""The route ACS posts recording state callbacks to (CloudEvents) - written into the catalog."""

from __future__ import annotations

from http import HTTPStatus

import azure.functions as func

from blueprints import blueprint
from shared.http import api_handler, empty_response, read_json
from shared.recording.state_callbacks import record_state_callback
from shared.settings import current_settings

bp = blueprint()


@bp.function_name("recording_state_callback")
@bp.route(route="callbacks/recording-state", methods=["POST"])
@api_handler
def recording_state_callback(req: func.HttpRequest) -> func.HttpResponse:
    record_state_callback(current_settings(), req.headers.get("authorization"), lambda: read_json(req))
    return empty_response(HTTPStatus.NO_CONTENT)
