"""Markets: where shoppers are, with their zone, languages, weekend and business hours.

A market's business hours are one daily window in its local time, open on the market's
working days: not on its weekend (Friday+Saturday in Saudi Arabia), not on a holiday of its
calendar, and on an adjusted working day as on a weekday. Closing at or before opening
runs past midnight (20:00-02:00); opening equal to closing is open 24 hours. The window is
turned into a `Schedule`, so the DST rules of `shifts` apply to it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.scheduling.calendars import (
    SATURDAY_SUNDAY,
    HolidayCalendar,
    is_working_day,
    weekend_from_json,
    weekend_to_json,
)
from server.scheduling.codec import (
    minutes_from_json,
    minutes_to_json,
    time_from_json,
    time_to_json,
)
from server.scheduling.errors import SchedulingError
from server.scheduling.intervals import Interval
from server.scheduling.localtime import Weekday, zone
from server.scheduling.shifts import Schedule, WeeklyShift, expand, on_shift

__all__ = [
    "DEFAULT_FIRST_REPLY_TARGET",
    "BusinessHours",
    "Market",
    "business_intervals",
    "business_schedule",
    "in_business_hours",
]

DEFAULT_FIRST_REPLY_TARGET = timedelta(minutes=5)


@dataclass(frozen=True)
class BusinessHours:
    """A daily local opening window; see the module docstring for overnight and 24 h."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        for value in (self.opens, self.closes):
            if value.tzinfo is not None or value.second or value.microsecond:
                raise SchedulingError(f"business hours are local 'HH:MM', got {value}")

    @property
    def length(self) -> timedelta:
        day = date(2000, 1, 3)
        opens, closes = datetime.combine(day, self.opens), datetime.combine(day, self.closes)
        if closes <= opens:
            closes += timedelta(days=1)
        return closes - opens

    def to_dict(self) -> dict[str, Any]:
        return {"opens": time_to_json(self.opens), "closes": time_to_json(self.closes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BusinessHours:
        return cls(time_from_json(data["opens"]), time_from_json(data["closes"]))


@dataclass(frozen=True)
class Market:
    """A market: `code` (e.g. "US"), IANA zone, languages in order of preference."""

    code: str
    tz: str
    languages: tuple[str, ...]
    weekend: frozenset[Weekday] = SATURDAY_SUNDAY
    business_hours: BusinessHours | None = None
    calendar: HolidayCalendar | None = None
    first_reply_target: timedelta = DEFAULT_FIRST_REPLY_TARGET

    def __post_init__(self) -> None:
        zone(self.tz)
        object.__setattr__(self, "code", self.code.upper())
        object.__setattr__(self, "languages", tuple(lang.lower() for lang in self.languages))
        object.__setattr__(self, "weekend", frozenset(Weekday(d) for d in self.weekend))
        if not self.languages:
            raise SchedulingError(f"market {self.code} needs at least one language")
        if self.first_reply_target <= timedelta(0):
            raise SchedulingError(f"market {self.code} needs a positive first-reply target")

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz)

    def is_working_day(self, day: date) -> bool:
        """Whether local `day` is a working day of this market (weekend and calendar)."""
        return is_working_day(day, self.calendar, self.weekend)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "tz": self.tz,
            "languages": list(self.languages),
            "weekend": weekend_to_json(self.weekend),
            "business_hours": None
            if self.business_hours is None
            else self.business_hours.to_dict(),
            "calendar": None if self.calendar is None else self.calendar.to_dict(),
            "first_reply_target_minutes": minutes_to_json(self.first_reply_target),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Market:
        hours, calendar = data.get("business_hours"), data.get("calendar")
        return cls(
            code=data["code"],
            tz=data["tz"],
            languages=tuple(data["languages"]),
            weekend=weekend_from_json(data.get("weekend", weekend_to_json(SATURDAY_SUNDAY))),
            business_hours=None if hours is None else BusinessHours.from_dict(hours),
            calendar=None if calendar is None else HolidayCalendar.from_dict(calendar),
            first_reply_target=minutes_from_json(
                data.get("first_reply_target_minutes", minutes_to_json(DEFAULT_FIRST_REPLY_TARGET))
            ),
        )


def business_schedule(market: Market) -> Schedule | None:
    """The market's business hours as a schedule in its zone; None without hours."""
    hours = market.business_hours
    if hours is None:
        return None
    calendar = market.calendar or HolidayCalendar()
    return Schedule(
        tz=market.tz,
        weekly=tuple(
            WeeklyShift(day, hours.opens, hours.length)
            for day in Weekday
            if day not in market.weekend
        ),
        calendar=replace(calendar, weekend=market.weekend),
    )


def business_intervals(market: Market, start_utc: datetime, end_utc: datetime) -> list[Interval]:
    """The UTC intervals of business hours within [start, end); all of it without hours."""
    schedule = business_schedule(market)
    if schedule is None:
        return [Interval(start_utc, end_utc)] if start_utc < end_utc else []
    return expand(schedule, start_utc, end_utc)


def in_business_hours(market: Market, at_utc: datetime) -> bool:
    """Whether the market is open at `at` (always, when it has no business hours)."""
    schedule = business_schedule(market)
    return schedule is None or on_shift(schedule, at_utc)
