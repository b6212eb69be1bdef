"""The dead-letter replay timer (schedule: the DEAD_LETTER_REPLAY_SCHEDULE setting, NCRONTAB): events
Event Grid could not deliver are archived after all (shared.archive.dead_letter_replay)."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from shared.archive.dead_letter_replay import replay_dead_letters
from shared.settings import current_settings

bp = df.Blueprint()
# Default "0 */10 * * * *", every 10 minutes (local.settings.json.example, infra/).
REPLAY_SCHEDULE = "%DEAD_LETTER_REPLAY_SCHEDULE%"


@bp.function_name("replay_dead_letters")
@bp.timer_trigger(arg_name="timer", schedule=REPLAY_SCHEDULE, run_on_startup=False, use_monitor=True)
@bp.durable_client_input(client_name="client")
async def replay_dead_letters_timer(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    await replay_dead_letters(current_settings(), client)
