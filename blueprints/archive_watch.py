"""The archive watch timer (schedule: the ARCHIVE_WATCH_SCHEDULE setting, NCRONTAB): stopped
recordings whose files never came are called out, and with ARCHIVE_RECOVER_MISSING_EVENTS their files
are asked of ACS and archived (shared.archive.watch), which needs a Durable client."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.durable_functions as df
import azure.functions as func

from shared.archive.watch import watch_and_recover
from shared.settings import current_settings

bp = df.Blueprint()
WATCH_SCHEDULE = "%ARCHIVE_WATCH_SCHEDULE%"  # default "0 */5 * * * *" (local.settings.json.example, infra/)


@bp.function_name("watch_archives")
@bp.timer_trigger(arg_name="timer", schedule=WATCH_SCHEDULE, run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def watch_archives_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await watch_and_recover(current_settings(), client, datetime.now(UTC))
