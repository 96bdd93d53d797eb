"""Holiday calendars: China's adjusted working days, manual entries, and shifts on them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from server.scheduling.calendars import (
    FRIDAY_SATURDAY,
    DayKind,
    HolidayCalendar,
    day_kind,
    first_workday_after,
    holiday_name,
    is_working_day,
)
from server.scheduling.errors import SchedulingError, UnknownCalendar
from server.scheduling.localtime import Weekday, zone
from server.scheduling.shifts import (
    DailyShift,
    DateOverride,
    Schedule,
    WeeklyShift,
    expand,
    on_shift,
    shifts_on,
)

CHINA = HolidayCalendar("CN")
SHANGHAI = zone("Asia/Shanghai")


def china_agent(calendar: HolidayCalendar = CHINA) -> Schedule:
    """Monday to Friday 09:00-18:00 in Shanghai."""
    weekly = tuple(
        WeeklyShift(day, time(9), timedelta(hours=9)) for day in Weekday if day <= Weekday.FRIDAY
    )
    return Schedule("Asia/Shanghai", weekly, calendar=calendar)


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), SHANGHAI)


@pytest.mark.parametrize(
    ("day", "kind"),
    [
        (date(2026, 2, 14), DayKind.ADJUSTED_WORKDAY),  # Saturday worked before Spring Festival
        (date(2026, 2, 28), DayKind.ADJUSTED_WORKDAY),
        (date(2026, 1, 4), DayKind.ADJUSTED_WORKDAY),  # a Sunday
        (date(2026, 2, 17), DayKind.HOLIDAY),  # Spring Festival, a Tuesday
        (date(2026, 2, 20), DayKind.HOLIDAY),  # the Friday given in exchange for Feb 14
        (date(2026, 2, 16), DayKind.HOLIDAY),  # New Year's Eve, a Monday
        (date(2026, 2, 15), DayKind.WEEKEND),  # an ordinary Sunday before it
        (date(2026, 2, 7), DayKind.WEEKEND),
        (date(2026, 2, 12), DayKind.WORKDAY),
    ],
)
def test_chinas_2026_calendar(day: date, kind: DayKind) -> None:
    assert day_kind(CHINA, day) is kind
    assert is_working_day(day, CHINA) is kind.is_working


def test_a_working_saturday_in_china_runs_the_weekday_shifts_and_spring_festival_none() -> None:
    schedule = china_agent()
    assert shifts_on(schedule, date(2026, 2, 14)) == shifts_on(schedule, date(2026, 2, 9))
    assert on_shift(schedule, local(date(2026, 2, 14), 12))
    assert not on_shift(schedule, local(date(2026, 2, 7), 12))  # an ordinary Saturday
    assert not on_shift(schedule, local(date(2026, 2, 17), 12))  # Spring Festival Tuesday
    festival = expand(schedule, local(date(2026, 2, 15), 0), local(date(2026, 2, 24), 0))
    assert festival == []  # Feb 15-23 off, Feb 23 given for the working Saturday Feb 28


def test_the_pattern_of_an_adjusted_working_day_is_monday_unless_chosen() -> None:
    schedule = Schedule(
        "Asia/Shanghai",
        (
            WeeklyShift(Weekday.MONDAY, time(8), timedelta(hours=8)),
            WeeklyShift(Weekday.FRIDAY, time(12), timedelta(hours=6)),
            WeeklyShift(Weekday.SATURDAY, time(20), timedelta(hours=2)),
        ),
        calendar=CHINA,
    )
    saturday = date(2026, 2, 14)
    [shift] = shifts_on(schedule, saturday)
    assert shift.start == time(8)  # Monday's, replacing Saturday's own 20:00 shift
    friday_like = Schedule(
        schedule.tz, schedule.weekly, calendar=CHINA, adjusted_workday_pattern=Weekday.FRIDAY
    )
    [shift] = shifts_on(friday_like, saturday)
    assert shift.start == time(12)
    # An ordinary Saturday keeps its own weekend shift.
    [shift] = shifts_on(schedule, date(2026, 2, 7))
    assert shift.start == time(20)


def test_a_dated_override_beats_the_calendar() -> None:
    on_call = DailyShift(time(10), timedelta(hours=4))
    schedule = replace(
        china_agent(),
        overrides=(DateOverride(date(2026, 2, 17), (on_call,)), DateOverride(date(2026, 2, 14))),
    )
    assert shifts_on(schedule, date(2026, 2, 17)) == (on_call,)  # on call at Spring Festival
    assert on_shift(schedule, local(date(2026, 2, 17), 12))
    assert not on_shift(schedule, local(date(2026, 2, 14), 12))  # the working Saturday off


def test_an_overnight_shift_starting_on_a_holiday_is_skipped_whole() -> None:
    schedule = Schedule(
        "Asia/Shanghai",
        tuple(
            WeeklyShift(day, time(21), timedelta(hours=9))
            for day in Weekday
            if day <= Weekday.FRIDAY
        ),
        calendar=CHINA,
    )
    # Thursday Apr 30 21:00 runs into the Labour Day holiday: it belongs to Thursday.
    assert on_shift(schedule, local(date(2026, 5, 1), 3))
    # Friday May 1 is a holiday: nothing from 21:00 that evening.
    assert not on_shift(schedule, local(date(2026, 5, 1), 22))
    assert not on_shift(schedule, local(date(2026, 5, 2), 3))


def test_manual_holidays_and_working_days_for_a_year_not_yet_published() -> None:
    calendar = CHINA.with_manual(
        extra_holidays=[date(2027, 2, 9)], extra_working_days=[date(2027, 2, 6)]
    )
    assert day_kind(calendar, date(2027, 2, 9)) is DayKind.HOLIDAY  # a Tuesday
    assert day_kind(calendar, date(2027, 2, 6)) is DayKind.ADJUSTED_WORKDAY  # a Saturday
    assert holiday_name(calendar, date(2027, 2, 9)) == "manual holiday"
    schedule = china_agent(calendar)
    assert not on_shift(schedule, local(date(2027, 2, 9), 12))
    assert on_shift(schedule, local(date(2027, 2, 6), 12))
    # Manual entries beat the package: a public holiday made a working day, and back.
    worked = CHINA.with_manual(extra_working_days=[date(2026, 2, 17)])
    assert day_kind(worked, date(2026, 2, 17)) is DayKind.WORKDAY
    assert on_shift(china_agent(worked), local(date(2026, 2, 17), 12))
    unworked = worked.with_manual(extra_holidays=[date(2026, 2, 17), date(2026, 2, 14)])
    assert date(2026, 2, 17) not in unworked.extra_working_days
    assert not on_shift(china_agent(unworked), local(date(2026, 2, 14), 12))


def test_a_manual_only_calendar_and_other_weekends() -> None:
    company = HolidayCalendar(weekend=FRIDAY_SATURDAY, extra_holidays=frozenset({date(2026, 3, 3)}))
    assert day_kind(company, date(2026, 3, 6)) is DayKind.WEEKEND  # Friday
    assert day_kind(company, date(2026, 3, 8)) is DayKind.WORKDAY  # Sunday
    assert day_kind(company, date(2026, 3, 3)) is DayKind.HOLIDAY
    assert HolidayCalendar("sa").weekend_days == FRIDAY_SATURDAY
    assert HolidayCalendar("US").weekend_days == {Weekday.SATURDAY, Weekday.SUNDAY}
    assert is_working_day(date(2026, 3, 7)) is False  # no calendar: Saturday+Sunday
    assert is_working_day(date(2026, 3, 7), weekend=FRIDAY_SATURDAY) is False
    assert is_working_day(date(2026, 3, 8), weekend=FRIDAY_SATURDAY) is True
    assert first_workday_after(FRIDAY_SATURDAY) is Weekday.SUNDAY
    assert first_workday_after(frozenset({Weekday.SUNDAY})) is Weekday.MONDAY


@pytest.mark.parametrize(
    ("country", "day", "name"),
    [
        ("US", date(2026, 7, 4), "Independence Day"),
        ("DE", date(2026, 10, 3), "German Unity Day"),
        ("JP", date(2026, 5, 5), "Children's Day"),
        ("BR", date(2026, 9, 7), "Independence Day"),
        ("SA", date(2026, 9, 23), "National Day Holiday"),
    ],
)
def test_other_countries_holidays_come_from_the_package(country: str, day: date, name: str) -> None:
    calendar = HolidayCalendar(country)
    assert day_kind(calendar, day) is DayKind.HOLIDAY
    assert holiday_name(calendar, day) == name


def test_calendars_round_trip_and_refuse_nonsense() -> None:
    calendar = HolidayCalendar(
        "CN",
        extra_holidays=frozenset({date(2027, 2, 9)}),
        extra_working_days=frozenset({date(2027, 2, 6)}),
    )
    assert HolidayCalendar.from_dict(json.loads(json.dumps(calendar.to_dict()))) == calendar
    with pytest.raises(UnknownCalendar):
        HolidayCalendar("ZZ")
    with pytest.raises(UnknownCalendar):
        HolidayCalendar("DE", subdiv="XX")
    with pytest.raises(SchedulingError):
        HolidayCalendar(
            extra_holidays=frozenset({date(2027, 1, 1)}),
            extra_working_days=frozenset({date(2027, 1, 1)}),
        )
