"""The archive watch timer (schedule: the ARCHIVE_WATCH_SCHEDULE setting, NCRONTAB): stopped
recordings whose files never came are called out (shared.archive.watch)."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.functions as func

from blueprints import blueprint
from shared.archive.watch import watch_archives
from shared.settings import current_settings

bp = blueprint()
WATCH_SCHEDULE = "%ARCHIVE_WATCH_SCHEDULE%"  # default "0 */5 * * * *" (local.settings.json.example, infra/)


@bp.function_name("watch_archives")
@bp.timer_trigger(arg_name="timer", schedule=WATCH_SCHEDULE, run_on_startup=False, use_monitor=True)
def watch_archives_timer(timer: func.TimerRequest) -> None:
    watch_archives(current_settings(), datetime.now(UTC))
