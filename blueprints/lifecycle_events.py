"""The lifecycle events' retry timer (schedule: the LIFECYCLE_EVENTS_SCHEDULE setting, NCRONTAB): what
the background publish left in the outbox (a topic down, a worker recycled) is sent now
(shared.events.publisher). Without EVENT_GRID_TOPIC_ENDPOINT it does nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import azure.functions as func

from blueprints import blueprint
from shared.events.publisher import drain_pending
from shared.settings import current_settings

bp = blueprint()
# Default "0 */1 * * * *", every minute (local.settings.json.example, infra/).
PUBLISH_SCHEDULE = "%LIFECYCLE_EVENTS_SCHEDULE%"


@bp.function_name("publish_lifecycle_events")
@bp.timer_trigger(arg_name="timer", schedule=PUBLISH_SCHEDULE, run_on_startup=False, use_monitor=True)
async def publish_lifecycle_events(timer: func.TimerRequest) -> None:
    await asyncio.to_thread(drain_pending, current_settings(), datetime.now(UTC))
