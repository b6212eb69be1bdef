"""`GET /api/archive-health`: counts by archive status and the oldest recordings that need someone
(shared.archive.health)."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.functions as func

from blueprints import blueprint
from shared.archive.health import archive_health
from shared.http import api_handler, json_response
from shared.settings import current_settings

bp = blueprint()


@bp.function_name("get_archive_health")
@bp.route(route="archive-health", methods=["GET"])
@api_handler
def get_archive_health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(archive_health(current_settings(), dict(req.params), datetime.now(UTC)))
