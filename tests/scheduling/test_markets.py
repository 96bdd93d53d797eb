"""Markets: weekends (a Friday in Riyadh), business hours across DST and midnight."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import pytest

from server.scheduling.calendars import FRIDAY_SATURDAY, HolidayCalendar
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import zone
from server.scheduling.markets import (
    BusinessHours,
    Market,
    business_intervals,
    in_business_hours,
)
from tests.scheduling.support import utc

RIYADH = zone("Asia/Riyadh")


def saudi(**changes: object) -> Market:
    market = Market(
        "SA",
        "Asia/Riyadh",
        ("ar",),
        weekend=FRIDAY_SATURDAY,
        business_hours=BusinessHours(time(9), time(17)),
    )
    return Market.from_dict({**market.to_dict(), **changes})


def test_a_friday_in_riyadh_is_a_weekend_day_for_the_saudi_market() -> None:
    market = saudi()
    friday, saturday, sunday = date(2026, 1, 9), date(2026, 1, 10), date(2026, 1, 11)
    assert not market.is_working_day(friday)
    assert not market.is_working_day(saturday)
    assert market.is_working_day(sunday)
    assert not in_business_hours(market, datetime.combine(friday, time(12), RIYADH))
    assert in_business_hours(market, datetime.combine(sunday, time(12), RIYADH))
    assert not in_business_hours(market, datetime.combine(sunday, time(17), RIYADH))
    week = business_intervals(market, utc(2026, 1, 8), utc(2026, 1, 15))
    assert [i.start.astimezone(RIYADH).strftime("%a %H:%M") for i in week] == [
        "Thu 09:00",
        "Sun 09:00",
        "Mon 09:00",
        "Tue 09:00",
        "Wed 09:00",
    ]


def test_a_market_calendar_closes_business_hours_on_its_holidays() -> None:
    market = saudi(calendar={"country": "SA"})
    national_day = date(2026, 9, 23)  # a Wednesday
    assert not market.is_working_day(national_day)
    assert not in_business_hours(market, datetime.combine(national_day, time(12), RIYADH))


def test_business_hours_follow_the_local_clock_across_dst_and_midnight() -> None:
    new_york = zone("America/New_York")
    market = Market(
        "US",
        "America/New_York",
        ("en",),
        business_hours=BusinessHours(time(20), time(2)),
        calendar=HolidayCalendar("US"),
    )
    assert market.business_hours is not None
    assert market.business_hours.length == timedelta(hours=6)
    friday_night = datetime(2026, 3, 6, 23, tzinfo=new_york)
    assert in_business_hours(market, friday_night)
    assert in_business_hours(market, friday_night + timedelta(hours=2, minutes=59))
    assert not in_business_hours(market, friday_night + timedelta(hours=3))
    # Opening 20:00 local both before and after the clocks change on March 8.
    for day in (date(2026, 3, 6), date(2026, 3, 9)):
        assert in_business_hours(market, datetime.combine(day, time(20), new_york))
        assert not in_business_hours(market, datetime.combine(day, time(19, 59), new_york))
    # Independence Day 2026 is a Saturday; July 3 is the observed Friday holiday.
    assert not in_business_hours(market, datetime(2026, 7, 3, 21, tzinfo=new_york))


def test_a_market_without_business_hours_is_always_open() -> None:
    market = Market("JP", "Asia/Tokyo", ("ja",))
    assert in_business_hours(market, utc(2026, 1, 3, 3))
    [whole] = business_intervals(market, utc(2026, 1, 1), utc(2026, 1, 8))
    assert (whole.start, whole.end) == (utc(2026, 1, 1), utc(2026, 1, 8))


def test_markets_round_trip_and_refuse_nonsense() -> None:
    market = saudi(calendar={"country": "SA"}, first_reply_target_minutes=3)
    data = json.loads(json.dumps(market.to_dict()))
    assert data["weekend"] == ["friday", "saturday"]
    assert Market.from_dict(data) == market
    assert market.first_reply_target == timedelta(minutes=3)
    with pytest.raises(SchedulingError):
        Market("XX", "Asia/Tokyo", ())
    with pytest.raises(SchedulingError):
        Market("XX", "Nowhere/Town", ("en",))
    with pytest.raises(SchedulingError):
        saudi(first_reply_target_minutes=0)
