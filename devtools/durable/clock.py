"""Orchestration time, and the host.json setting that decides which instances a new start replaces."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


class Clock:
    """Orchestration time. ``time_scale`` < 1 makes durable time run faster than wall time.

    Virtual time = wall time at construction + elapsed wall time / time_scale, so a 1 hour timer
    with ``time_scale=0.001`` fires after 3.6 s and ``current_utc_datetime`` moves accordingly.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = time_scale
        self._base = datetime.now(UTC)
        self._mono = time.monotonic()

    def now(self) -> datetime:
        return self._base + timedelta(seconds=(time.monotonic() - self._mono) / self.time_scale)

    def real_seconds_until(self, when: datetime) -> float:
        return max(0.0, (when - self.now()).total_seconds() * self.time_scale)


def read_overridable_states(host_json: Path | None) -> str:
    """``extensions.durableTask.overridableExistingInstanceStates`` from host.json.

    When absent, the extension's own default applies, which is ``NonRunningStates``
    (``DurableTaskOptions.OverridableExistingInstanceStates`` in azure-functions-durable-extension;
    confirmed by its PR #3468, "Correct StartNewAsync 'silently replaced' remarks").
    """
    if host_json is None or not Path(host_json).exists():
        return "NonRunningStates"
    config = json.loads(Path(host_json).read_text(encoding="utf-8"))
    value = config.get("extensions", {}).get("durableTask", {}).get("overridableExistingInstanceStates")
    return str(value) if value else "NonRunningStates"
