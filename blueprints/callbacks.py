"""The route ACS posts recording state callbacks to (CloudEvents) - written into the catalog."""

from __future__ import annotations

import logging
from http import HTTPStatus

import azure.functions as func

from shared.callback_auth import forget_callback_token, verify_callback_token
from shared.callback_events import parse_callback_body
from shared.errors import STORAGE, upstream
from shared.http import api_handler, empty_response, read_json
from shared.recordings import catalog
from shared.settings import current_settings

bp = func.Blueprint()
_LOG = logging.getLogger(__name__)


@bp.function_name("recording_state_callback")
@bp.route(route="callbacks/recording-state", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
@api_handler
def recording_state_callback(req: func.HttpRequest) -> func.HttpResponse:
    settings = current_settings()
    verified = verify_callback_token(
        req.headers.get("authorization"),
        audience=settings.callback_audience,
        openid_configuration_url=settings.openid_configuration_url,
    )
    try:
        events, ignored = parse_callback_body(read_json(req))
        for event_type in ignored:
            _LOG.info("Ignored a callback event of type %s", event_type)
        with upstream(STORAGE):
            for event in events:
                catalog(settings).apply(event)
    except Exception:
        # Not recorded: if ACS retries with the same token, that retry must be accepted.
        forget_callback_token(verified)
        raise
    return empty_response(HTTPStatus.NO_CONTENT)
