"""Durable timers: a heap of fire times in orchestration time, fired by one thread when due."""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from datetime import datetime

from devtools.durable import history as h
from devtools.durable.clock import Clock

Fire = Callable[[str, str, int, str], None]  # (instance id, execution id, timer id, FireAt)


class TimerQueue:
    def __init__(self, clock: Clock, fire: Fire) -> None:
        self._clock = clock
        self._fire = fire
        self._cond = threading.Condition()
        self._heap: list[tuple[datetime, int, str, str, int, str]] = []
        self._seq = 0
        self._running = False
        self._thread: threading.Thread | None = None

    def add(self, instance_id: str, execution_id: str, timer_id: int, fire_at: datetime) -> None:
        with self._cond:
            self._seq += 1
            heapq.heappush(
                self._heap, (fire_at, self._seq, instance_id, execution_id, timer_id, h.format_time(fire_at))
            )
            self._cond.notify_all()

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="durable-timers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._running = False
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        until = self._clock.real_seconds_until
        while self._running:
            due: list[tuple[datetime, int, str, str, int, str]] = []
            with self._cond:
                while self._running and (not self._heap or until(self._heap[0][0]) > 0):
                    wait = until(self._heap[0][0]) if self._heap else 0.5
                    self._cond.wait(min(max(wait, 0.001), 0.5))
                while self._heap and until(self._heap[0][0]) <= 0:
                    due.append(heapq.heappop(self._heap))
            for _, _, instance_id, execution_id, timer_id, fire_at in due:
                self._fire(instance_id, execution_id, timer_id, fire_at)
