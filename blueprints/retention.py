"""The retention timer: once a day, archives past ARCHIVE_RETENTION_DAYS are deleted (archive.retention)."""

from __future__ import annotations

from datetime import UTC, datetime

import azure.functions as func

from blueprints import blueprint
from shared.archive.retention import apply_retention
from shared.settings import current_settings

bp = blueprint()
# NCRONTAB (six fields, seconds first), UTC: 02:30 every day, away from the top of the hour.
RETENTION_SCHEDULE = "0 30 2 * * *"


@bp.function_name("apply_retention")
@bp.timer_trigger(arg_name="timer", schedule=RETENTION_SCHEDULE, run_on_startup=False, use_monitor=True)
def apply_retention_timer(timer: func.TimerRequest) -> None:
    apply_retention(current_settings(), datetime.now(UTC))
