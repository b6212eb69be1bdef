"""NCRONTAB, as the timer trigger parses and steps it: a port of NCrontab's parser and next-occurrence.

The Functions timer trigger (azure-webjobs-sdk-extensions,
src/WebJobs.Extensions/Extensions/Timers/Scheduling/CronSchedule.cs `TryCreate`) parses the schedule
with NCrontab, with seconds unless the expression has exactly five fields, and else tries a
`TimeSpan` (TimerSchedule.Create); a schedule that is neither fails the function's indexing. The
parser and `GetNextOccurrence` below follow NCrontab (atifaziz/NCrontab at d122d58:
CrontabFieldImpl.InternalParse, CrontabField.Accumulate, CrontabSchedule.TryGetNextOccurrence),
including its quirks: day of week 0-6 only (Sunday 0; 7 is refused), names by prefix
(`Mon`, `January`), `a/n` meaning `a-max/n`, a reversed range swapped, and day of month AND day of
week both required (not cron's OR).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_FIELDS: tuple[tuple[str, int, int, tuple[str, ...] | None], ...] = (  # (name, min, max, names)
    ("Second", 0, 59, None),
    ("Minute", 0, 59, None),
    ("Hour", 0, 23, None),
    ("Day", 1, 31, None),
    ("Month", 1, 12, tuple(calendar.month_name[1:])),
    ("DayOfWeek", 0, 6, ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")),
)
_INT = re.compile(
    r"^\s*\+?[0-9]+\s*$"
)  # .NET int.Parse with NumberStyles.Integer (no sign of '-': it splits ranges)


class CrontabError(ValueError):
    """Not a valid NCRONTAB expression (NCrontab's CrontabException)."""


class _Field:
    def __init__(self, kind: int, text: str) -> None:
        self.name, self.low, self.high, self.names = _FIELDS[kind]
        self.values: set[int] = set()
        self._parse(text)
        if not self.values:
            raise CrontabError(f"'{text}' is not a valid [{self.name}] crontab field expression.")
        self.ordered = sorted(self.values)

    def _parse(self, text: str) -> None:
        if text.find(",") > 0:  # InternalParse: a list only when the comma is not the first character
            for part in text.split(","):
                self._parse(part)
            return
        if not text:
            raise CrontabError("A crontab field value cannot be empty.")
        every: int | None = None
        slash = text.find("/")
        if slash > 0:
            every = self._number(text[slash + 1 :])
            text = text[:slash]
        if text == "*":
            self._accumulate(-1, -1, every or 1)
            return
        dash = text.find("-")
        if dash > 0:
            self._accumulate(self._value(text[:dash]), self._value(text[dash + 1 :]), every or 1)
            return
        value = self._value(text)
        if every is not None:
            self._accumulate(value, self.high, every)
        else:
            self._accumulate(value, value, 1)

    def _number(self, text: str) -> int:
        if not _INT.match(text):
            raise CrontabError(f"'{text}' is not a valid [{self.name}] crontab field expression.")
        return int(text)

    def _value(self, text: str) -> int:
        if not text:
            raise CrontabError("A crontab field value cannot be empty.")
        if "0" <= text[0] <= "9":
            return self._number(text)
        if self.names is None:
            raise CrontabError(
                f"'{text}' is not a valid [{self.name}] crontab field value. It must be a numeric value "
                f"between {self.low} and {self.high} (all inclusive)."
            )
        for index, name in enumerate(self.names):
            if name.lower().startswith(text.lower()):  # CompareInfo.IsPrefix, IgnoreCase
                return index + self.low
        raise CrontabError(
            f"'{text}' is not a known value name. Use one of the following: {', '.join(self.names)}."
        )

    def _accumulate(self, start: int, end: int, interval: int) -> None:
        if start == end:
            if start < 0:
                start, end = self.low, self.high
            else:
                self._in_range(start)
        else:
            start, end = min(start, end), max(start, end)
            start = self.low if start < 0 else self._in_range(start)
            end = self.high if end < 0 else self._in_range(end)
        self.values.update(range(start, end + 1, max(interval, 1)))

    def _in_range(self, value: int) -> int:
        if value < self.low or value > self.high:
            which = ("lower", "minimum") if value < self.low else ("higher", "maximum")
            raise CrontabError(
                f"{value} is {which[0]} than the {which[1]} allowable value for the [{self.name}] field. "
                f"Value must be between {self.low} and {self.high} (all inclusive)."
            )
        return value

    def next(self, start: int) -> int | None:
        return next((value for value in self.ordered if value >= start), None)

    @property
    def first(self) -> int:
        return self.ordered[0]


_SECOND_ZERO = _Field(0, "0")


@dataclass(frozen=True)
class CrontabSchedule:
    expression: str
    seconds: _Field | None
    minutes: _Field
    hours: _Field
    days: _Field
    months: _Field
    days_of_week: _Field

    @classmethod
    def parse(cls, expression: str) -> CrontabSchedule:
        """Six fields (seconds first) or five (CronSchedule.HasSeconds: any count but five has seconds)."""
        tokens = expression.split()  # String.Split(' ', RemoveEmptyEntries)
        with_seconds = len(tokens) != 5
        if len(tokens) != (6 if with_seconds else 5):
            raise CrontabError(
                f"'{expression}' is an invalid crontab expression. It must contain 6 components of a "
                "schedule in the sequence of seconds, minutes, hours, days, months, and days of week."
            )
        offset = 0 if with_seconds else 1
        fields = [_Field(index + offset, token) for index, token in enumerate(tokens)]
        seconds = fields.pop(0) if with_seconds else None
        return cls(expression, seconds, *fields)

    def beyond_first_field_is_every_value(self) -> bool:
        """Whether every field after the first formats as `*` (NCrontab's ToString of a full range)."""
        fields = (self.minutes, self.hours, self.days, self.months, self.days_of_week)
        rest = fields if self.seconds is not None else fields[1:]
        return all(len(field.values) == field.high - field.low + 1 for field in rest)

    def next_after(self, base: datetime) -> datetime:
        """NCrontab's TryGetNextOccurrence: the first occurrence strictly after `base` (to the second)."""
        while True:
            found = self._next_date(base)
            if found is None:
                raise CrontabError(f"'{self.expression}' has no occurrence after {base.isoformat()}")
            if (found.weekday() + 1) % 7 in self.days_of_week.values:  # .NET DayOfWeek: Sunday = 0
                return found
            base = found.replace(hour=23, minute=59, second=59)

    def _next_date(self, base: datetime) -> datetime | None:
        seconds = self.seconds or _SECOND_ZERO  # five fields: second 0 (NCrontab's SecondZero)
        first_second = seconds.first
        year, month, day = base.year, base.month, base.day
        hour, minute = base.hour, base.minute
        second_found = seconds.next(base.second + 1)
        if second_found is None:
            second, minute = first_second, minute + 1
        else:
            second = second_found
        minute_found = self.minutes.next(minute)
        if minute_found is None:
            second, minute, hour = first_second, self.minutes.first, hour + 1
        else:
            if minute_found > base.minute:
                second = first_second
            minute = minute_found
        hour_found = self.hours.next(hour)
        if hour_found is None:
            minute, hour, day = self.minutes.first, self.hours.first, day + 1
        else:
            if hour_found > base.hour:
                second, minute = first_second, self.minutes.first
            hour = hour_found
        day_found: int | None = self.days.next(day)
        while True:  # RetryDayMonth
            if day_found is None:
                second, minute, hour = first_second, self.minutes.first, self.hours.first
                day, month = self.days.first, month + 1
            else:
                if day_found > base.day:
                    second, minute, hour = first_second, self.minutes.first, self.hours.first
                day = day_found
            month_found = self.months.next(month)
            if month_found is None:
                second, minute, hour = first_second, self.minutes.first, self.hours.first
                day, month, year = self.days.first, self.months.first, year + 1
            else:
                if month_found > base.month:
                    second, minute, hour, day = (
                        first_second,
                        self.minutes.first,
                        self.hours.first,
                        self.days.first,
                    )
                month = month_found
            if year > 9999:
                return None
            changed = day != base.day or month != base.month or year != base.year
            if day > 28 and changed and day > calendar.monthrange(year, month)[1]:
                day_found = None
                continue
            return base.replace(
                year=year, month=month, day=day, hour=hour, minute=minute, second=second, microsecond=0
            )


def parse_timespan(text: str) -> timedelta | None:
    """A `TimeSpan.TryParse` schedule (`hh:mm:ss`, `d.hh:mm:ss`, `hh:mm`, `d`), else None.

    UNVERIFIED beyond these forms (fractions of a second and culture formats are refused here).
    """
    match = re.fullmatch(r"\s*(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*", text)
    if match:
        days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        if hours < 24 and minutes < 60 and seconds < 60:
            return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        return None
    if re.fullmatch(r"\s*\d+\s*", text):
        return timedelta(days=int(text))
    return None
