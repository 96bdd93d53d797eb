"""The wall-clock rules: skipped times start after the gap, repeated ones at their first pass."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from server.scheduling.errors import SchedulingError, UnknownTimeZone
from server.scheduling.localtime import (
    Weekday,
    is_nonexistent,
    is_repeated,
    local_instant,
    local_midnight,
    zone,
)
from tests.scheduling.support import utc


@pytest.mark.parametrize(
    ("tz", "wall", "instant", "skipped", "repeated"),
    [
        # New York springs forward at 02:00 EST on 2026-03-08 and falls back on 2026-11-01.
        ("America/New_York", datetime(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7), True, False),
        ("America/New_York", datetime(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7), False, False),
        ("America/New_York", datetime(2026, 3, 8, 1, 59), utc(2026, 3, 8, 6, 59), False, False),
        ("America/New_York", datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30), False, True),
        ("America/New_York", datetime(2026, 11, 1, 2, 0), utc(2026, 11, 1, 7), False, False),
        # Berlin a few weeks later: 02:00 CET on 2026-03-29, back on 2026-10-25.
        ("Europe/Berlin", datetime(2026, 3, 29, 2, 15), utc(2026, 3, 29, 1), True, False),
        ("Europe/Berlin", datetime(2026, 10, 25, 2, 15), utc(2026, 10, 25, 0, 15), False, True),
        # Lord Howe moves by thirty minutes.
        (
            "Australia/Lord_Howe",
            datetime(2026, 10, 4, 2, 10),
            utc(2026, 10, 3, 15, 30),
            True,
            False,
        ),
        ("Australia/Lord_Howe", datetime(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45), False, True),
        # Santiago skips midnight; Shanghai and Kathmandu never change.
        ("America/Santiago", datetime(2026, 9, 6, 0, 0), utc(2026, 9, 6, 4), True, False),
        ("Asia/Shanghai", datetime(2026, 3, 8, 2, 30), utc(2026, 3, 7, 18, 30), False, False),
        ("Asia/Kathmandu", datetime(2026, 3, 8, 9, 0), utc(2026, 3, 8, 3, 15), False, False),
    ],
)
def test_wall_clock_to_instant(
    tz: str, wall: datetime, instant: datetime, skipped: bool, repeated: bool
) -> None:
    assert local_instant(wall, zone(tz)) == instant
    assert is_nonexistent(wall, zone(tz)) is skipped
    assert is_repeated(wall, zone(tz)) is repeated


def test_local_midnight_when_midnight_is_skipped() -> None:
    santiago = zone("America/Santiago")
    assert local_midnight(date(2026, 9, 6), santiago).astimezone(santiago).hour == 1
    assert local_midnight(date(2026, 9, 5), santiago) == utc(2026, 9, 5, 4)


def test_weekdays_by_name_and_number() -> None:
    assert Weekday.of(date(2026, 2, 14)) is Weekday.SATURDAY
    assert Weekday.parse("Friday") is Weekday.FRIDAY and Weekday.FRIDAY.key == "friday"
    with pytest.raises(SchedulingError):
        Weekday.parse("someday")
    with pytest.raises(UnknownTimeZone):
        zone("Not/AZone")
