"""The retention timer: once a day, archives past ARCHIVE_RETENTION_DAYS are deleted (archive.retention)."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from shared.archive.retention import apply_retention
from shared.settings import current_settings

bp = df.Blueprint()
# NCRONTAB (six fields, seconds first), UTC: 02:30 every day, away from the top of the hour.
RETENTION_SCHEDULE = "0 30 2 * * *"


@bp.function_name("apply_retention")
@bp.timer_trigger(arg_name="timer", schedule=RETENTION_SCHEDULE, run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def apply_retention_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await apply_retention(current_settings(), client, datetime.now(UTC))
