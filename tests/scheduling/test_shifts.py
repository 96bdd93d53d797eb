"""Named cases for shifts: zones against zones, DST weeks, overnight shifts, overrides, time off."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from server.scheduling.errors import SchedulingError, UnknownTimeZone
from server.scheduling.intervals import Interval
from server.scheduling.localtime import Weekday, zone
from server.scheduling.shifts import (
    DailyShift,
    DateOverride,
    Schedule,
    TimeBasis,
    TimeOff,
    WeeklyShift,
    expand,
    on_shift,
    shift_instances,
)
from tests.scheduling.support import utc

NEW_YORK, BERLIN, SHANGHAI = zone("America/New_York"), zone("Europe/Berlin"), zone("Asia/Shanghai")
WORKWEEK = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)


def workweek(tz: str, start: time, hours: float) -> Schedule:
    return Schedule(tz, tuple(WeeklyShift(d, start, timedelta(hours=hours)) for d in WORKWEEK))


def starts(schedule: Schedule, first: date, last: date) -> list[datetime]:
    window_start = datetime.combine(first, time(0), UTC) - timedelta(days=1)
    window_end = datetime.combine(last, time(0), UTC) + timedelta(days=2)
    return [i.start for i in expand(schedule, window_start, window_end)]


def local_starts(schedule: Schedule, first: date, last: date, tz: str) -> dict[date, str]:
    """Shift starts by the agent's local date, read in `tz` as "Mon 20:00"."""
    return {
        s.astimezone(schedule.zone).date(): s.astimezone(zone(tz)).strftime("%a %H:%M")
        for s in starts(schedule, first, last)
        if first <= s.astimezone(schedule.zone).date() <= last
    }


def test_a_shanghai_morning_is_the_previous_evening_in_new_york_an_hour_later_in_summer() -> None:
    shanghai = workweek("Asia/Shanghai", time(9), 9)
    winter = local_starts(shanghai, date(2026, 1, 12), date(2026, 1, 12), "America/New_York")
    summer = local_starts(shanghai, date(2026, 7, 13), date(2026, 7, 13), "America/New_York")
    assert winter == {date(2026, 1, 12): "Sun 20:00"}
    assert summer == {date(2026, 7, 13): "Sun 21:00"}
    [shift] = expand(shanghai, utc(2026, 1, 12), utc(2026, 1, 13))
    assert shift.start.astimezone(NEW_YORK) == datetime(2026, 1, 11, 20, tzinfo=NEW_YORK)
    assert shift.end.astimezone(NEW_YORK) == datetime(2026, 1, 12, 5, tzinfo=NEW_YORK)


def test_march_2026_weeks_when_new_york_has_changed_clocks_and_berlin_has_not() -> None:
    berlin = workweek("Europe/Berlin", time(9), 8)
    new_york = local_starts(berlin, date(2026, 3, 2), date(2026, 4, 3), "America/New_York")
    gap_weeks = {day for day in new_york if date(2026, 3, 8) <= day < date(2026, 3, 29)}
    assert new_york == {
        day: f"{day:%a} {'04:00' if day in gap_weeks else '03:00'}" for day in new_york
    }
    assert new_york[date(2026, 3, 6)] == "Fri 03:00"
    assert new_york[date(2026, 3, 9)] == "Mon 04:00"
    assert new_york[date(2026, 3, 27)] == "Fri 04:00"
    assert new_york[date(2026, 3, 30)] == "Mon 03:00"
    assert len(new_york) == 25


def test_october_2026_week_when_berlin_has_changed_clocks_back_and_new_york_has_not() -> None:
    new_york = workweek("America/New_York", time(9), 8)
    berlin = local_starts(new_york, date(2026, 10, 19), date(2026, 11, 6), "Europe/Berlin")
    assert berlin[date(2026, 10, 23)] == "Fri 15:00"
    assert berlin[date(2026, 10, 26)] == "Mon 14:00"
    assert berlin[date(2026, 10, 30)] == "Fri 14:00"
    assert berlin[date(2026, 11, 2)] == "Mon 15:00"
    assert {day for day, start in berlin.items() if start.endswith("14:00")} == {
        date(2026, 10, d) for d in (26, 27, 28, 29, 30)
    }


def test_shanghai_agent_seen_from_berlin_and_new_york_in_the_us_only_dst_weeks() -> None:
    shanghai = workweek("Asia/Shanghai", time(9), 9)
    monday = {
        day: (
            local_starts(shanghai, day, day, "America/New_York")[day],
            local_starts(shanghai, day, day, "Europe/Berlin")[day],
        )
        for day in (date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 30))
    }
    assert monday == {
        date(2026, 3, 2): ("Sun 20:00", "Mon 02:00"),
        date(2026, 3, 16): ("Sun 21:00", "Mon 02:00"),
        date(2026, 3, 30): ("Sun 21:00", "Mon 03:00"),
    }


@pytest.mark.parametrize(
    ("friday", "saturday"),
    [(date(2026, 1, 30), date(2026, 1, 31)), (date(2026, 2, 27), date(2026, 2, 28))],
)
def test_an_overnight_friday_shift_runs_into_the_last_day_of_the_month(
    friday: date, saturday: date
) -> None:
    schedule = Schedule(
        "Asia/Shanghai", (WeeklyShift(Weekday.FRIDAY, time(21), timedelta(hours=9)),)
    )
    window_start = datetime.combine(friday, time(0), UTC) - timedelta(days=1)
    [shift] = expand(schedule, window_start, window_start + timedelta(days=4))
    assert shift.start == datetime.combine(friday, time(21), SHANGHAI)
    assert shift.end == datetime.combine(saturday, time(6), SHANGHAI)
    assert on_shift(schedule, datetime.combine(saturday, time(0), SHANGHAI))
    assert on_shift(schedule, datetime.combine(saturday, time(5, 59), SHANGHAI))
    assert not on_shift(schedule, datetime.combine(saturday, time(6), SHANGHAI))
    assert not on_shift(schedule, datetime.combine(friday, time(20, 59), SHANGHAI))


def test_an_overnight_shift_queried_from_the_next_month_still_counts() -> None:
    schedule = Schedule(
        "America/New_York", (WeeklyShift(Weekday.SATURDAY, time(22), timedelta(hours=8)),)
    )
    # Saturday 2026-02-28 22:00 EST runs into Sunday 1 March; ask only about March.
    assert expand(schedule, utc(2026, 3, 1, 5), utc(2026, 3, 2)) == [
        Interval(utc(2026, 3, 1, 5), utc(2026, 3, 1, 11))
    ]


def test_a_start_in_the_spring_forward_gap_starts_when_the_clocks_have_jumped() -> None:
    schedule = Schedule(
        "America/New_York", (WeeklyShift(Weekday.SUNDAY, time(2, 30), timedelta(hours=8)),)
    )
    [shift] = shift_instances(schedule, utc(2026, 3, 8), utc(2026, 3, 9))
    assert shift.start == utc(2026, 3, 8, 7)  # 03:00 EDT, the first instant after the gap
    assert shift.start.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"
    assert shift.duration == timedelta(hours=8)  # elapsed, from the actual start
    assert not on_shift(schedule, utc(2026, 3, 8, 6, 59))
    # A week earlier the same shift starts at 02:30 EST.
    [before] = shift_instances(schedule, utc(2026, 3, 1), utc(2026, 3, 2))
    assert before.start == utc(2026, 3, 1, 7, 30)


def test_a_start_in_lord_howes_thirty_minute_gap() -> None:
    schedule = Schedule(
        "Australia/Lord_Howe", (WeeklyShift(Weekday.SUNDAY, time(2, 15), timedelta(hours=1)),)
    )
    # 2026-10-04 02:00 +10:30 becomes 02:30 +11:00.
    [shift] = shift_instances(schedule, utc(2026, 10, 3), utc(2026, 10, 4))
    assert shift.start == utc(2026, 10, 3, 15, 30)
    assert shift.start.astimezone(schedule.zone).strftime("%H:%M") == "02:30"


def test_a_start_at_a_repeated_time_uses_the_first_occurrence() -> None:
    schedule = Schedule(
        "America/New_York", (WeeklyShift(Weekday.SUNDAY, time(1, 30), timedelta(hours=2)),)
    )
    [shift] = shift_instances(schedule, utc(2026, 11, 1), utc(2026, 11, 2))
    assert shift.start == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not 01:30 EST (06:30 UTC)
    assert shift.end == utc(2026, 11, 1, 7, 30)  # two elapsed hours, the wall clock shows one
    assert shift.end.astimezone(NEW_YORK).strftime("%H:%M %Z") == "02:30 EST"


def test_an_overnight_shift_is_an_hour_longer_on_the_wall_clock_when_clocks_fall_back() -> None:
    schedule = Schedule(
        "America/New_York", (WeeklyShift(Weekday.SATURDAY, time(21), timedelta(hours=9)),)
    )
    [shift] = expand(schedule, utc(2026, 10, 31), utc(2026, 11, 2))
    assert shift.duration == timedelta(hours=9)
    assert shift.end.astimezone(NEW_YORK).strftime("%H:%M") == "05:00"


def test_split_shifts_and_overlapping_shifts_merge() -> None:
    schedule = Schedule(
        "Europe/Berlin",
        (
            WeeklyShift(Weekday.MONDAY, time(8), timedelta(hours=4)),
            WeeklyShift(Weekday.MONDAY, time(14), timedelta(hours=4)),
            WeeklyShift(Weekday.MONDAY, time(17), timedelta(hours=3)),
            WeeklyShift(Weekday.MONDAY, time(20), timedelta(hours=1)),
        ),
    )
    window = expand(schedule, utc(2026, 1, 5), utc(2026, 1, 6))
    assert [(i.start.astimezone(BERLIN).hour, i.end.astimezone(BERLIN).hour) for i in window] == [
        (8, 12),
        (14, 21),
    ]
    assert not on_shift(schedule, datetime(2026, 1, 5, 13, tzinfo=BERLIN))


def test_a_dated_override_replaces_the_days_shifts_and_an_empty_one_is_a_day_off() -> None:
    schedule = Schedule(
        "Asia/Shanghai",
        workweek("Asia/Shanghai", time(9), 9).weekly,
        overrides=(
            DateOverride(date(2026, 3, 3), (DailyShift(time(13), timedelta(hours=2)),)),
            DateOverride(date(2026, 3, 4)),
            DateOverride(date(2026, 3, 7), (DailyShift(time(10), timedelta(hours=1)),)),
        ),
    )
    by_day = {
        i.start.astimezone(SHANGHAI).date(): (i.start.astimezone(SHANGHAI).hour, i.duration)
        for i in expand(schedule, utc(2026, 3, 2), utc(2026, 3, 9))
    }
    assert by_day == {
        date(2026, 3, 2): (9, timedelta(hours=9)),
        date(2026, 3, 3): (13, timedelta(hours=2)),
        date(2026, 3, 5): (9, timedelta(hours=9)),
        date(2026, 3, 6): (9, timedelta(hours=9)),
        date(2026, 3, 7): (10, timedelta(hours=1)),
    }


def test_time_off_in_utc_and_in_local_wall_clock_is_cut_out() -> None:
    schedule = Schedule(
        "America/New_York",
        workweek("America/New_York", time(9), 8).weekly,
        time_off=(
            TimeOff(utc(2026, 3, 2, 15), utc(2026, 3, 2, 16), note="dentist"),
            TimeOff.local_days(date(2026, 3, 4), date(2026, 3, 5), note="trip"),
            TimeOff(datetime(2026, 3, 6, 16), datetime(2026, 3, 9, 10), TimeBasis.LOCAL),
        ),
    )
    window = expand(schedule, utc(2026, 3, 2), utc(2026, 3, 10))
    local = [
        (
            i.start.astimezone(NEW_YORK).strftime("%a %H:%M"),
            i.end.astimezone(NEW_YORK).strftime("%H:%M"),
        )
        for i in window
    ]
    assert local == [
        ("Mon 09:00", "10:00"),
        ("Mon 11:00", "17:00"),
        ("Tue 09:00", "17:00"),
        ("Fri 09:00", "16:00"),
        ("Mon 10:00", "17:00"),  # 10:00 EDT: local time off followed the clocks
    ]
    assert not on_shift(schedule, utc(2026, 3, 2, 15, 30))
    assert on_shift(schedule, utc(2026, 3, 2, 16))


def test_schedules_round_trip_through_json() -> None:
    schedule = Schedule(
        "Asia/Kathmandu",
        (WeeklyShift(Weekday.FRIDAY, time(21, 45), timedelta(hours=9, minutes=15)),),
        overrides=(DateOverride(date(2026, 5, 1)),),
        time_off=(
            TimeOff(utc(2026, 5, 4), utc(2026, 5, 5)),
            TimeOff.local_days(date(2026, 6, 1), date(2026, 6, 2), "leave"),
        ),
        adjusted_workday_pattern=Weekday.FRIDAY,
    )
    data = json.loads(json.dumps(schedule.to_dict()))
    assert data["weekly"] == [{"weekday": "friday", "start": "21:45", "duration_minutes": 555}]
    assert Schedule.from_dict(data) == schedule


@pytest.mark.parametrize(
    ("start", "duration"),
    [
        (time(9), timedelta(0)),
        (time(9), timedelta(hours=24, minutes=1)),
        (time(9), timedelta(seconds=90)),
        (time(9, 0, 30), timedelta(hours=1)),
    ],
)
def test_impossible_shifts_are_refused(start: time, duration: timedelta) -> None:
    with pytest.raises(SchedulingError):
        WeeklyShift(Weekday.MONDAY, start, duration)


def test_bad_zones_overrides_and_naive_instants_are_refused() -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        Schedule("Mars/Olympus_Mons")
    assert caught.value.code == "unknown_time_zone"
    with pytest.raises(SchedulingError):
        Schedule("UTC", overrides=(DateOverride(date(2026, 1, 1)), DateOverride(date(2026, 1, 1))))
    with pytest.raises(SchedulingError):
        on_shift(Schedule("UTC"), datetime(2026, 1, 1))
    with pytest.raises(SchedulingError):
        TimeOff(datetime(2026, 1, 1), datetime(2026, 1, 2))
    with pytest.raises(SchedulingError):
        TimeOff(utc(2026, 1, 2), utc(2026, 1, 1))
