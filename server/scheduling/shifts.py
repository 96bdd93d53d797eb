"""Weekly shifts in an agent's local wall-clock time, with dated overrides and time off.

A shift is a local start time and an elapsed duration, so overnight shifts (Friday 21:00
for 9 hours) and split shifts (two shifts on one weekday) need nothing special. A shift
belongs to the local date it starts on; that date decides which shifts apply:

1. a dated override for the date replaces the day's shifts (none: a day off), whatever the
   calendar says — it is the manager's explicit word;
2. with a calendar, a holiday has no shifts (an overnight shift starting on a holiday is
   skipped whole, also its hours after midnight);
3. an adjusted working day (a weekend day that is a working day, China's 调休) works the
   shifts of `adjusted_workday_pattern`, by default the first weekday after the weekend
   (Monday for Saturday+Sunday), replacing the weekend day's own shifts;
4. otherwise the weekly shifts of the date's weekday, weekend days included (weekend
   shifts are a deliberate choice, e.g. weekend cover staff).

Time off is then cut out of the shifts. A shift's start is resolved by the rules of
`localtime` (a start in a DST gap: the end of the gap; a repeated start: the first
occurrence), and it lasts its duration of elapsed time from there, so a 9-hour shift is 9
hours long on the nights the clocks change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from server.scheduling.calendars import DayKind, HolidayCalendar, day_kind, first_workday_after
from server.scheduling.codec import (
    date_from_json,
    date_to_json,
    instant_from_json,
    instant_to_json,
    minutes_from_json,
    minutes_to_json,
    time_from_json,
    time_to_json,
)
from server.scheduling.errors import SchedulingError
from server.scheduling.intervals import Interval, clip, merge, subtract
from server.scheduling.localtime import Weekday, as_utc, local_instant, wall_clock, zone

__all__ = [
    "MAX_SHIFT",
    "DailyShift",
    "DateOverride",
    "Schedule",
    "TimeBasis",
    "TimeOff",
    "WeeklyShift",
    "expand",
    "on_shift",
    "shift_instances",
    "shifts_on",
]

MAX_SHIFT = timedelta(hours=24)
"""The longest single shift; longer cover is several shifts, which `expand` merges."""

# A shift starting on local date D ends before D + 2 days in wall-clock terms, give or take
# a zone's jump (Samoa skipped a whole day in 2011): three days back is always enough.
_LOOKBACK_DAYS = 3


def _check_shift(start: time, duration: timedelta) -> None:
    if start.tzinfo is not None or start.second or start.microsecond:
        raise SchedulingError(f"a shift starts at a local 'HH:MM', got {start.isoformat()}")
    if not timedelta(0) < duration <= MAX_SHIFT or duration % timedelta(minutes=1):
        raise SchedulingError(
            f"a shift lasts whole minutes, more than 0 and at most {MAX_SHIFT}, got {duration}"
        )


@dataclass(frozen=True)
class DailyShift:
    """One shift on some day: local start time and elapsed duration."""

    start: time
    duration: timedelta

    def __post_init__(self) -> None:
        _check_shift(self.start, self.duration)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": time_to_json(self.start),
            "duration_minutes": minutes_to_json(self.duration),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DailyShift:
        return cls(time_from_json(data["start"]), minutes_from_json(data["duration_minutes"]))


@dataclass(frozen=True)
class WeeklyShift:
    """A shift every `weekday`: local start time and elapsed duration."""

    weekday: Weekday
    start: time
    duration: timedelta

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekday", Weekday(self.weekday))
        _check_shift(self.start, self.duration)

    @property
    def daily(self) -> DailyShift:
        return DailyShift(self.start, self.duration)

    def to_dict(self) -> dict[str, Any]:
        return {"weekday": self.weekday.key, **self.daily.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeeklyShift:
        daily = DailyShift.from_dict(data)
        return cls(Weekday.parse(data["weekday"]), daily.start, daily.duration)


@dataclass(frozen=True)
class DateOverride:
    """The shifts of one local date, replacing the weekly ones; no shifts is a day off."""

    day: date
    shifts: tuple[DailyShift, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "shifts", tuple(self.shifts))

    def to_dict(self) -> dict[str, Any]:
        return {"date": date_to_json(self.day), "shifts": [s.to_dict() for s in self.shifts]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DateOverride:
        return cls(
            date_from_json(data["date"]),
            tuple(DailyShift.from_dict(s) for s in data.get("shifts", [])),
        )


class TimeBasis(Enum):
    """How a time-off range is written: UTC instants, or wall-clock in the agent's zone."""

    UTC = "utc"
    LOCAL = "local"


@dataclass(frozen=True)
class TimeOff:
    """Time off over [start, end): aware instants (UTC basis) or naive local wall-clock."""

    start: datetime
    end: datetime
    basis: TimeBasis = TimeBasis.UTC
    note: str = ""

    def __post_init__(self) -> None:
        if self.basis is TimeBasis.UTC:
            object.__setattr__(self, "start", as_utc(self.start))
            object.__setattr__(self, "end", as_utc(self.end))
        elif self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise SchedulingError("local time off is naive wall-clock time, without a zone")
        if self.end <= self.start:
            raise SchedulingError(
                f"time off must end after it starts: {self.start.isoformat()} "
                f"to {self.end.isoformat()}"
            )

    @classmethod
    def local_days(cls, first: date, last: date, note: str = "") -> TimeOff:
        """Whole local days `first` to `last` inclusive, e.g. a holiday trip."""
        start = datetime.combine(first, time())
        return cls(start, datetime.combine(last + timedelta(days=1), time()), TimeBasis.LOCAL, note)

    def interval(self, tz: ZoneInfo) -> Interval | None:
        """The UTC interval off; None if a local range falls wholly within one DST gap."""
        if self.basis is TimeBasis.UTC:
            return Interval(self.start, self.end)
        start, end = local_instant(self.start, tz), local_instant(self.end, tz)
        return Interval(start, end) if start < end else None

    def to_dict(self) -> dict[str, Any]:
        if self.basis is TimeBasis.UTC:
            start, end = instant_to_json(self.start), instant_to_json(self.end)
        else:
            start, end = self.start.isoformat(), self.end.isoformat()
        return {"start": start, "end": end, "basis": self.basis.value, "note": self.note}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeOff:
        basis = TimeBasis(data.get("basis", TimeBasis.UTC.value))
        if basis is TimeBasis.UTC:
            start, end = instant_from_json(data["start"]), instant_from_json(data["end"])
        else:
            start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        return cls(start, end, basis, data.get("note", ""))


@dataclass(frozen=True)
class Schedule:
    """An agent's working time: zone, weekly shifts, overrides, time off and calendar."""

    tz: str
    weekly: tuple[WeeklyShift, ...] = ()
    overrides: tuple[DateOverride, ...] = ()
    time_off: tuple[TimeOff, ...] = ()
    calendar: HolidayCalendar | None = None
    adjusted_workday_pattern: Weekday | None = None
    _by_day: dict[date, DateOverride] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone(self.tz)
        object.__setattr__(self, "weekly", tuple(self.weekly))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        object.__setattr__(self, "time_off", tuple(self.time_off))
        by_day = {o.day: o for o in self.overrides}
        if len(by_day) != len(self.overrides):
            raise SchedulingError("a schedule has at most one override per date")
        object.__setattr__(self, "_by_day", by_day)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def override_for(self, day: date) -> DateOverride | None:
        return self._by_day.get(day)

    def to_dict(self) -> dict[str, Any]:
        pattern = self.adjusted_workday_pattern
        return {
            "tz": self.tz,
            "weekly": [s.to_dict() for s in self.weekly],
            "overrides": [o.to_dict() for o in self.overrides],
            "time_off": [t.to_dict() for t in self.time_off],
            "calendar": None if self.calendar is None else self.calendar.to_dict(),
            "adjusted_workday_pattern": None if pattern is None else pattern.key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        calendar, pattern = data.get("calendar"), data.get("adjusted_workday_pattern")
        return cls(
            tz=data["tz"],
            weekly=tuple(WeeklyShift.from_dict(s) for s in data.get("weekly", [])),
            overrides=tuple(DateOverride.from_dict(o) for o in data.get("overrides", [])),
            time_off=tuple(TimeOff.from_dict(t) for t in data.get("time_off", [])),
            calendar=None if calendar is None else HolidayCalendar.from_dict(calendar),
            adjusted_workday_pattern=None if pattern is None else Weekday.parse(pattern),
        )


def shifts_on(schedule: Schedule, day: date) -> tuple[DailyShift, ...]:
    """The shifts starting on local date `day`, by the rules in the module docstring."""
    override = schedule.override_for(day)
    if override is not None:
        return override.shifts
    pattern = Weekday.of(day)
    if schedule.calendar is not None:
        kind = day_kind(schedule.calendar, day)
        if kind is DayKind.HOLIDAY:
            return ()
        if kind is DayKind.ADJUSTED_WORKDAY:
            pattern = schedule.adjusted_workday_pattern or first_workday_after(
                schedule.calendar.weekend_days
            )
    return tuple(s.daily for s in schedule.weekly if s.weekday is pattern)


def _instances_from(schedule: Schedule, first: date, last: date) -> Iterator[Interval]:
    tz = schedule.zone
    day = first
    while day <= last:
        for shift in shifts_on(schedule, day):
            start = local_instant(datetime.combine(day, shift.start), tz)
            yield Interval(start, start + shift.duration)
        day += timedelta(days=1)


def _local_days(schedule: Schedule, start: datetime, end: datetime) -> tuple[date, date]:
    tz = schedule.zone
    first = wall_clock(start, tz).date() - timedelta(days=_LOOKBACK_DAYS)
    return first, wall_clock(end, tz).date()


def shift_instances(schedule: Schedule, start_utc: datetime, end_utc: datetime) -> list[Interval]:
    """Each shift overlapping [start, end) as its whole UTC interval, before time off.

    Sorted by start; not clipped and not merged, so each lasts exactly its duration.
    """
    start, end = as_utc(start_utc), as_utc(end_utc)
    first, last = _local_days(schedule, start, end)
    return sorted(
        i for i in _instances_from(schedule, first, last) if i.end > start and i.start < end
    )


def _time_off(schedule: Schedule) -> list[Interval]:
    tz = schedule.zone
    return [i for t in schedule.time_off if (i := t.interval(tz)) is not None]


def expand(schedule: Schedule, start_utc: datetime, end_utc: datetime) -> list[Interval]:
    """The UTC intervals on shift within [start, end): sorted, merged, time off removed."""
    start, end = as_utc(start_utc), as_utc(end_utc)
    if end <= start:
        return []
    working = clip(shift_instances(schedule, start, end), start, end)
    return merge(subtract(working, _time_off(schedule)))


def on_shift(schedule: Schedule, at_utc: datetime) -> bool:
    """Whether the agent is on shift at instant `at` (and not on time off)."""
    at = as_utc(at_utc)
    day = wall_clock(at, schedule.zone).date()
    first = day - timedelta(days=_LOOKBACK_DAYS)
    if not any(at in i for i in _instances_from(schedule, first, day)):
        return False
    return not any(at in i for i in _time_off(schedule))
