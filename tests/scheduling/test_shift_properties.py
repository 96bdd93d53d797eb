"""Property tests: `on_shift`, `expand` and `shift_instances` agree, in any zone, near DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.scheduling.intervals import Interval, clip, contains
from server.scheduling.localtime import Weekday, local_instant, wall_clock, zone
from server.scheduling.shifts import (
    MAX_SHIFT,
    DailyShift,
    DateOverride,
    Schedule,
    TimeBasis,
    TimeOff,
    WeeklyShift,
    expand,
    on_shift,
    shift_instances,
    shifts_on,
)
from tests.scheduling.support import ZONES, first_instant_reading_at_least, transitions

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

zones = st.sampled_from(ZONES)
start_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
durations = st.integers(1, int(MAX_SHIFT / timedelta(minutes=1))).map(
    lambda m: timedelta(minutes=m)
)
weekly_shifts = st.builds(WeeklyShift, st.sampled_from(Weekday), start_times, durations)
daily_shifts = st.builds(DailyShift, start_times, durations)
overnight = st.builds(
    WeeklyShift,
    st.sampled_from(Weekday),
    st.builds(time, st.integers(18, 23), st.sampled_from([0, 30])),
    st.integers(6 * 60, 12 * 60).map(lambda m: timedelta(minutes=m)),
)


@st.composite
def instants(draw: st.DrawFn, name: str) -> datetime:
    """Mostly instants within a few days of one of the zone's transitions."""
    moments = transitions(name)
    near_transition = draw(st.integers(0, 3)) > 0
    if moments and near_transition:
        anchor = draw(st.sampled_from(moments))
        offset = draw(st.integers(-3 * 24 * 60, 3 * 24 * 60))
        seconds = draw(st.sampled_from([0, 0, 1, 59]))
        return anchor + timedelta(minutes=offset, seconds=seconds)
    minutes = draw(st.integers(0, 20 * 365 * 24 * 60))
    return datetime(2010, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)


@st.composite
def schedules(draw: st.DrawFn, name: str, near: datetime) -> Schedule:
    """A schedule in `name` with weekly (often overnight) shifts, overrides and time off."""
    weekly = draw(st.lists(st.one_of(weekly_shifts, overnight), min_size=1, max_size=5))
    day = wall_clock(near, zone(name)).date()
    override_days = draw(st.lists(st.integers(-3, 1), max_size=2, unique=True))
    overrides = tuple(
        DateOverride(day + timedelta(days=d), tuple(draw(st.lists(daily_shifts, max_size=2))))
        for d in override_days
    )
    time_off = []
    for _ in range(draw(st.integers(0, 2))):
        start = near + timedelta(minutes=draw(st.integers(-36 * 60, 36 * 60)))
        length = timedelta(minutes=draw(st.integers(1, 24 * 60)))
        if draw(st.booleans()):
            time_off.append(TimeOff(start, start + length))
        else:
            local = wall_clock(start, zone(name))
            time_off.append(TimeOff(local, local + length, TimeBasis.LOCAL))
    return Schedule(name, tuple(weekly), overrides, tuple(time_off))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    name = draw(zones)
    at = draw(instants(name))
    return draw(schedules(name, at)), at


def _assert_well_formed(intervals: list[Interval], start: datetime, end: datetime) -> None:
    for interval in intervals:
        assert start <= interval.start < interval.end <= end
        assert interval.duration <= end - start
    for before, after in pairwise(intervals):
        assert before.end < after.start, "expand must merge touching and overlapping shifts"


@PROPERTY
@given(cases(), st.integers(1, 72 * 60), st.integers(1, 72 * 60))
def test_on_shift_agrees_with_expanded_intervals(
    case: tuple[Schedule, datetime], before: int, after: int
) -> None:
    schedule, at = case
    start, end = at - timedelta(minutes=before), at + timedelta(minutes=after)
    intervals = expand(schedule, start, end)
    _assert_well_formed(intervals, start, end)
    assert on_shift(schedule, at) == contains(intervals, at)
    for interval in intervals:
        assert on_shift(schedule, interval.start)
        assert not on_shift(schedule, interval.end) or interval.end == end
        assert not on_shift(schedule, interval.start - timedelta(microseconds=1)) or (
            interval.start == start
        )


@PROPERTY
@given(cases(), st.integers(1, 48 * 60), st.integers(1, 48 * 60))
def test_expanding_a_longer_window_then_clipping_changes_nothing(
    case: tuple[Schedule, datetime], extra_before: int, extra_after: int
) -> None:
    schedule, at = case
    start, end = at - timedelta(hours=12), at + timedelta(hours=12)
    wide = expand(
        schedule, start - timedelta(minutes=extra_before), end + timedelta(minutes=extra_after)
    )
    assert clip(wide, start, end) == expand(schedule, start, end)


@PROPERTY
@given(cases())
def test_each_shift_lasts_its_duration_from_the_documented_start(
    case: tuple[Schedule, datetime],
) -> None:
    schedule, at = case
    start, end = at - timedelta(days=2), at + timedelta(days=2)
    instances = shift_instances(schedule, start, end)
    assert instances == sorted(instances)
    expected = []
    day = wall_clock(start, schedule.zone).date() - timedelta(days=3)
    while day <= wall_clock(end, schedule.zone).date():
        for shift in shifts_on(schedule, day):
            wall = datetime.combine(day, shift.start)
            begins = first_instant_reading_at_least(wall, schedule.tz)
            if begins + shift.duration > start and begins < end:
                expected.append(Interval(begins, begins + shift.duration))
        day += timedelta(days=1)
    assert instances == sorted(expected)
    for interval in instances:
        assert timedelta(0) < interval.duration <= MAX_SHIFT


@PROPERTY
@given(zones, st.data())
def test_local_instant_is_the_first_reading_at_or_after_the_wall_time(
    name: str, data: st.DataObject
) -> None:
    at = data.draw(instants(name))
    wall = wall_clock(at, zone(name)).replace(second=0) + timedelta(
        minutes=data.draw(st.integers(-120, 120))
    )
    assert local_instant(wall, zone(name)) == first_instant_reading_at_least(wall, name)


@PROPERTY
@given(zones, st.dates(date(2010, 1, 1), date(2030, 12, 31)))
def test_a_day_with_no_shifts_is_never_on_shift(name: str, day: date) -> None:
    schedule = Schedule(
        name,
        (WeeklyShift(Weekday.of(day), time(9), timedelta(hours=8)),),
        overrides=(DateOverride(day, ()),),
    )
    noon = local_instant(datetime.combine(day, time(12)), zone(name))
    assert not on_shift(schedule, noon)
    assert expand(schedule, noon - timedelta(days=1), noon + timedelta(days=1)) == []
