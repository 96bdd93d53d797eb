"""Holiday calendars: which local dates are working days, from `holidays` plus manual entries.

A calendar names a country (and optionally a subdivision) known to python-holidays, a
weekend, and manual entries for what the package does not know yet: next year's list is
published late (China's each November or December), and companies add their own days.

A date is classified, first rule that applies wins:

1. a manual working day: a working day (ADJUSTED_WORKDAY when its weekday is a weekend day);
2. a manual holiday: HOLIDAY;
3. one of the country's adjusted working days (China's 调休, `weekend_workdays`):
   ADJUSTED_WORKDAY, e.g. Saturday 2026-02-14 in China;
4. one of the country's public holidays (observed days included): HOLIDAY, e.g. the
   Spring Festival weekday 2026-02-17, even when it falls on a weekend;
5. a weekend day: WEEKEND; otherwise WORKDAY.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from functools import lru_cache
from typing import Any

import holidays
from holidays.holiday_base import HolidayBase

from server.scheduling.codec import date_from_json, date_to_json
from server.scheduling.errors import SchedulingError, UnknownCalendar
from server.scheduling.localtime import Weekday

__all__ = [
    "FRIDAY_SATURDAY",
    "SATURDAY_SUNDAY",
    "DayKind",
    "HolidayCalendar",
    "day_kind",
    "first_workday_after",
    "holiday_name",
    "is_working_day",
    "weekend_from_json",
    "weekend_to_json",
]

# The weekend python-holidays reports is the same every year; any year reads it.
_ANY_YEAR = 2026

SATURDAY_SUNDAY = frozenset({Weekday.SATURDAY, Weekday.SUNDAY})
FRIDAY_SATURDAY = frozenset({Weekday.FRIDAY, Weekday.SATURDAY})


class DayKind(Enum):
    """What a local date is for a calendar."""

    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    ADJUSTED_WORKDAY = "adjusted_workday"
    """A weekend day that is a working day (China's 调休, or a manual working day)."""

    @property
    def is_working(self) -> bool:
        return self in (DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY)


@dataclass(frozen=True)
class HolidayCalendar:
    """A country's public holidays and weekend, corrected by manual entries.

    `country` None makes a manual-only calendar. `weekend` None takes the country's
    weekend from python-holidays (Friday+Saturday for SA), else Saturday+Sunday.
    """

    country: str | None = None
    subdiv: str | None = None
    weekend: frozenset[Weekday] | None = None
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.country is not None:
            object.__setattr__(self, "country", self.country.upper())
        if self.subdiv is not None and self.country is None:
            raise SchedulingError("a calendar's subdivision needs a country")
        if self.weekend is not None:
            object.__setattr__(self, "weekend", frozenset(Weekday(d) for d in self.weekend))
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        both = self.extra_holidays & self.extra_working_days
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise SchedulingError(f"dates both manual holidays and working days: {days}")
        if self.country is not None:
            _country_year(self.country, self.subdiv, _ANY_YEAR)

    @property
    def weekend_days(self) -> frozenset[Weekday]:
        if self.weekend is not None:
            return self.weekend
        if self.country is None:
            return SATURDAY_SUNDAY
        known = _country_year(self.country, self.subdiv, _ANY_YEAR)
        return frozenset(Weekday(d) for d in known.weekend)

    def with_manual(
        self, *, extra_holidays: Iterable[date] = (), extra_working_days: Iterable[date] = ()
    ) -> HolidayCalendar:
        """A copy with more manual holidays and working days (a day moves between lists)."""
        new_holidays, new_working = frozenset(extra_holidays), frozenset(extra_working_days)
        return HolidayCalendar(
            country=self.country,
            subdiv=self.subdiv,
            weekend=self.weekend,
            extra_holidays=(self.extra_holidays - new_working) | new_holidays,
            extra_working_days=(self.extra_working_days - new_holidays) | new_working,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "subdiv": self.subdiv,
            "weekend": None if self.weekend is None else weekend_to_json(self.weekend),
            "extra_holidays": sorted(date_to_json(d) for d in self.extra_holidays),
            "extra_working_days": sorted(date_to_json(d) for d in self.extra_working_days),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HolidayCalendar:
        weekend = data.get("weekend")
        return cls(
            country=data.get("country"),
            subdiv=data.get("subdiv"),
            weekend=None if weekend is None else weekend_from_json(weekend),
            extra_holidays=frozenset(date_from_json(d) for d in data.get("extra_holidays", [])),
            extra_working_days=frozenset(
                date_from_json(d) for d in data.get("extra_working_days", [])
            ),
        )


def weekend_to_json(weekend: frozenset[Weekday]) -> list[str]:
    return [d.key for d in sorted(weekend)]


def weekend_from_json(names: list[str]) -> frozenset[Weekday]:
    return frozenset(Weekday.parse(name) for name in names)


@lru_cache(maxsize=256)
def _country_year(country: str, subdiv: str | None, year: int) -> HolidayBase:
    # One instance per year, never expanded afterwards: the cache is then read-only.
    try:
        return holidays.country_holidays(country, subdiv=subdiv, years=year, expand=False)
    except NotImplementedError as exc:
        raise UnknownCalendar(f"python-holidays has no calendar for {exc}") from None


def day_kind(
    calendar: HolidayCalendar | None, day: date, weekend: frozenset[Weekday] | None = None
) -> DayKind:
    """What `day` is for `calendar` (rules in the module docstring).

    `weekend` overrides the calendar's weekend; without a calendar only the weekend counts
    (Saturday+Sunday unless given).
    """
    if weekend is None:
        weekend = calendar.weekend_days if calendar is not None else SATURDAY_SUNDAY
    on_weekend = Weekday.of(day) in weekend
    adjusted = DayKind.ADJUSTED_WORKDAY if on_weekend else DayKind.WORKDAY
    if calendar is not None:
        if day in calendar.extra_working_days:
            return adjusted
        if day in calendar.extra_holidays:
            return DayKind.HOLIDAY
        if calendar.country is not None:
            known = _country_year(calendar.country, calendar.subdiv, day.year)
            if day in known.weekend_workdays:
                return adjusted
            if day in known:
                return DayKind.HOLIDAY
    return DayKind.WEEKEND if on_weekend else DayKind.WORKDAY


def is_working_day(
    day: date, calendar: HolidayCalendar | None = None, weekend: frozenset[Weekday] | None = None
) -> bool:
    """Whether local date `day` is a working day for `calendar` and `weekend`."""
    return day_kind(calendar, day, weekend).is_working


def holiday_name(calendar: HolidayCalendar | None, day: date) -> str | None:
    """The holiday's name for display ("manual holiday" for manual entries), or None."""
    if calendar is None or day in calendar.extra_working_days:
        return None
    if day in calendar.extra_holidays:
        return "manual holiday"
    if calendar.country is None:
        return None
    known = _country_year(calendar.country, calendar.subdiv, day.year)
    name = known.get(day)
    return None if name is None or day in known.weekend_workdays else str(name)


def first_workday_after(weekend: frozenset[Weekday]) -> Weekday:
    """The first weekday after `weekend`: Monday for Saturday+Sunday, Sunday for Fri+Sat.

    Monday when there is no weekend; for a split weekend, the earliest such day of the week.
    """
    for day in Weekday:
        if day not in weekend and Weekday((day - 1) % 7) in weekend:
            return day
    return Weekday.MONDAY
