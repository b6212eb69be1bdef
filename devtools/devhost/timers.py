"""Timer triggers on their schedules, as the timer extension's listener runs them.

Follows azure-webjobs-sdk-extensions (src/WebJobs.Extensions/Extensions/Timers, October 2024):

- the schedule: `%NAME%` tokens resolved from the app settings first (TimerSchedule.Create calls
  `INameResolver.ResolveWholeString`: an unclosed `%` or an unknown name fails), then NCRONTAB
  (six fields, or five without seconds) or else a TimeSpan; anything else fails the function's
  indexing, and the local host refuses to start, naming it. A TimeSpan is refused too: only an App
  Service plan runs one, and this app deploys to Flex Consumption;
- time zone: UTC. The listener uses the machine's local time (`DateTimeOffset.Now`), which is UTC
  on Azure unless WEBSITE_TIME_ZONE is set, and Linux plans (Flex Consumption included) do not
  support WEBSITE_TIME_ZONE; the local host ignores the machine's zone and uses UTC;
- `runOnStartup`: one invocation right after start (TimerListener.StartAsync), then the schedule;
- one invocation at a time per timer (TimerListener's invocation lock); the next occurrence is
  computed after the invocation, from the later of its start and the occurrence it ran for
  (InvokeJobFunction), and a failed invocation does not stop the schedule;
- the function receives TimerInfo as JSON: `Schedule`, `ScheduleStatus` (null unless `useMonitor`,
  which the extension turns off for schedules more frequent than a minute) and `IsPastDue`.

Imitated: the schedule monitor keeps `ScheduleStatus` in memory, not in a storage blob, so the
local host never sees a missed occurrence after a restart (no past-due run), and there is no
singleton lease because there is only one host.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.devhost.ncrontab import CrontabError, CrontabSchedule, parse_timespan
from devtools.pyworker.channel import FunctionMetadata, InvocationResult

log = logging.getLogger("devhost")
EPOCH = datetime(1, 1, 1, tzinfo=UTC)  # default(DateTime): ScheduleStatus.Last before any run


class ScheduleError(ValueError):
    """The timer's schedule cannot be resolved or parsed; the Functions host fails that function."""


def resolve_settings(expression: str, environ: Mapping[str, str]) -> str:
    """`NameResolverExtensions.ResolveWholeString` (azure-webjobs-sdk): every `%NAME%` is an app setting.

    Setting names are matched case-insensitively, as the host's configuration does.
    """
    folded = {name.lower(): value for name, value in environ.items()}
    out: list[str] = []
    position = 0
    while position < len(expression):
        start = expression.find("%", position)
        if start < 0:
            out.append(expression[position:])
            break
        end = expression.find("%", start + 1)
        if end < 0:
            raise ScheduleError(f"The '%' at position {start} does not have a closing '%'")
        name = expression[start + 1 : end]
        value = environ.get(name, folded.get(name.lower()))
        if value is None:
            raise ScheduleError(f"'%{name}%' does not resolve to a value.")
        out.append(expression[position:start] + value)
        position = end + 1
    return "".join(out)


@dataclass(frozen=True)
class Schedule:
    expression: str
    cron: CrontabSchedule

    @classmethod
    def parse(cls, schedule: str, environ: Mapping[str, str]) -> Schedule:
        resolved = resolve_settings(schedule, environ)
        try:
            return cls(resolved, cron=CrontabSchedule.parse(resolved))
        except CrontabError:
            if parse_timespan(resolved) is not None:
                # The extension takes a TimeSpan, but only an App Service plan runs it ("A TimeSpan can
                # be used only for a function app that runs on an App Service Plan": the timer trigger's
                # reference); this app deploys to Flex Consumption, so it is refused here too.
                raise ScheduleError(
                    f"The schedule '{resolved}' is a TimeSpan, which runs only on an App Service plan; "
                    "on Flex Consumption use an NCRONTAB expression (e.g. '0 */5 * * * *')."
                ) from None
            raise ScheduleError(
                f"The schedule expression '{resolved}' was not recognized as a valid cron expression "
                "or timespan string."
            ) from None

    def next_after(self, moment: datetime) -> datetime:
        return self.cron.next_after(moment)

    def more_than_once_a_minute(self, now: datetime) -> bool:
        """TimerSchedule.ShouldDisableScheduleMonitor: only a
        schedule whose fields after the first are all `*` can fire more than once in the next minute."""
        if not self.cron.beyond_first_field_is_every_value():
            return False
        first = self.cron.next_after(now)
        return self.cron.next_after(first) < now + timedelta(minutes=1)


@dataclass
class TimerFunction:
    name: str
    binding: str
    schedule: Schedule
    run_on_startup: bool
    use_monitor: bool
    status: dict[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timer_info(self, *, past_due: bool = False) -> dict[str, Any]:
        """TimerInfo as the host serialises it for the worker (Json.NET: public properties)."""
        return {
            "Schedule": {"AdjustForDST": True},  # a cron schedule's, as Json.NET writes it
            "ScheduleStatus": self.status if self.use_monitor else None,
            "IsPastDue": past_due,
        }


Run = Callable[[str, dict[str, Any], dict[str, Any]], "Future[InvocationResult]"]


def timer_functions(
    functions: Mapping[str, FunctionMetadata], environ: Mapping[str, str]
) -> list[TimerFunction]:
    """Every timer-triggered function with its parsed schedule; ScheduleError names the bad one."""
    timers = []
    now = datetime.now(UTC)
    for function in functions.values():
        trigger = function.trigger
        if function.trigger_type != "timerTrigger":
            continue
        try:
            schedule = Schedule.parse(str(trigger.get("schedule", "")), environ)
        except (ScheduleError, CrontabError) as error:
            raise ScheduleError(f"The timer function '{function.name}' cannot be indexed: {error}") from None
        use_monitor = bool(trigger.get("useMonitor", True)) and not schedule.more_than_once_a_minute(now)
        timers.append(
            TimerFunction(
                function.name,
                str(trigger["name"]),
                schedule,
                bool(trigger.get("runOnStartup", False)),
                use_monitor,
            )
        )
    return timers


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class TimerListeners:
    """One thread per timer function, invoking it through `run` when its schedule says."""

    def __init__(
        self,
        timers: list[TimerFunction],
        run: Run,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.timers = {timer.name: timer for timer in timers}
        self._run = run
        self._now = now
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for timer in self.timers.values():
            now = self._now()
            timer.status = {
                "Last": _iso(EPOCH),
                "Next": _iso(timer.schedule.next_after(now)),
                "LastUpdated": _iso(EPOCH),
            }
            log.info(
                "The next 5 occurrences of the '%s' schedule (%s) will be: %s",
                timer.name,
                timer.schedule.expression,
                ", ".join(_iso(moment) for moment in self._next(timer, now, 5)),
            )
            thread = threading.Thread(
                target=self._listen, args=(timer,), name=f"timer-{timer.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def _next(self, timer: TimerFunction, now: datetime, count: int) -> list[datetime]:
        moments = []
        for _ in range(count):
            now = timer.schedule.next_after(now)
            moments.append(now)
        return moments

    def _listen(self, timer: TimerFunction) -> None:
        if timer.run_on_startup:
            log.info("Function '%s' is configured to run on startup. Executing now.", timer.name)
            self.invoke(timer, reason="RunOnStartup")
        while not self._stop.is_set():
            assert timer.status is not None
            due = datetime.fromisoformat(timer.status["Next"])
            wait = (due - self._now()).total_seconds()
            if wait > 0 and self._stop.wait(min(wait, 60.0)):
                return
            if self._now() >= due:
                self.invoke(timer, reason="Timer", scheduled=due)

    def invoke(
        self, timer: TimerFunction, *, reason: str, scheduled: datetime | None = None
    ) -> InvocationResult:
        """One invocation (also the admin API's); the schedule status moves on after it."""
        with timer.lock:
            started = self._now()
            result = self._run(
                timer.name, timer.timer_info(), {"TimerTrigger": started.strftime("%m/%d/%Y %H:%M:%S")}
            ).result()
            if not result.ok:
                log.error(
                    "Executed 'Functions.%s' (Failed, Reason='%s'): %s",
                    timer.name,
                    reason,
                    result.exception_text,
                )
            basis = scheduled if scheduled is not None and scheduled > started else started
            timer.status = {
                "Last": _iso(basis),
                "Next": _iso(timer.schedule.next_after(basis)),
                "LastUpdated": _iso(basis),
            }
            return result


def timer_trigger_data(info: Mapping[str, Any]) -> dict[str, str]:
    """TimerInfo as TypedData: the host serialises the POCO (`ToRpcDefault`, JSON)."""
    return {"json": json.dumps(info, separators=(",", ":"))}
