"""Local wall-clock time: zones, weekdays, and the rules that turn wall-clock into instants.

A wall-clock time in a zone names zero, one or two instants. The rules, used everywhere
in this package:

- Nonexistent (in a spring-forward gap, e.g. 2026-03-08 02:30 America/New_York): the first
  valid instant after the gap, i.e. the transition itself (03:00 EDT, 07:00 UTC). A shift
  due to start inside the gap starts when the clocks have jumped.
- Repeated (in a fall-back fold, e.g. 2026-11-01 01:30 America/New_York): the first
  occurrence (fold=0, 01:30 EDT, 05:30 UTC).

Instants are aware datetimes in UTC. Elapsed time is computed in UTC; aware-datetime
arithmetic in a local zone is wall-clock arithmetic and is never used for durations.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.scheduling.errors import SchedulingError, UnknownTimeZone

__all__ = [
    "UTC",
    "Weekday",
    "as_utc",
    "is_nonexistent",
    "is_repeated",
    "local_instant",
    "local_midnight",
    "wall_clock",
    "zone",
]


class Weekday(IntEnum):
    """ISO weekday, numbered like `date.weekday()` (Monday is 0)."""

    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6

    @classmethod
    def of(cls, day: date) -> Weekday:
        return cls(day.weekday())

    @classmethod
    def parse(cls, name: str) -> Weekday:
        try:
            return cls[name.upper()]
        except KeyError:
            raise SchedulingError(f"unknown weekday {name!r}; expected e.g. 'monday'") from None

    @property
    def key(self) -> str:
        """The JSON form: the lower-case English name."""
        return self.name.lower()


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or UnknownTimeZone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(f"unknown time zone {name!r}; expected an IANA name") from None


def as_utc(at: datetime) -> datetime:
    """`at` converted to UTC; a naive datetime is refused rather than guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise SchedulingError(f"expected an aware datetime, got naive {at.isoformat()}")
    return at.astimezone(UTC)


def wall_clock(at: datetime, tz: ZoneInfo) -> datetime:
    """The naive local wall-clock reading of instant `at` in `tz`."""
    return as_utc(at).astimezone(tz).replace(tzinfo=None)


def is_nonexistent(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether naive `wall` falls in a gap of `tz` (the clocks skip it)."""
    wall = wall.replace(tzinfo=None, fold=0)
    return wall_clock(wall.replace(tzinfo=tz).astimezone(UTC), tz) != wall


def is_repeated(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether naive `wall` happens twice in `tz` (a fold)."""
    wall = wall.replace(tzinfo=None)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return first != second and not is_nonexistent(wall, tz)


def local_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of naive wall-clock `wall` in `tz`, by the module's rules."""
    wall = wall.replace(tzinfo=None, fold=0)
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    if wall_clock(first, tz) == wall:
        return first
    return _end_of_gap(wall, tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which `day` begins in `tz` (a skipped midnight: the transition)."""
    return local_instant(datetime.combine(day, time()), tz)


def _end_of_gap(wall: datetime, tz: ZoneInfo) -> datetime:
    # Within a gap fold=0 applies the offset before the transition and fold=1 the one after,
    # so the transition lies between the two readings. The local reading jumps past `wall`
    # exactly at the transition: search for the first second where it does.
    before = wall.replace(tzinfo=tz, fold=0).utcoffset() or timedelta()
    after = wall.replace(tzinfo=tz, fold=1).utcoffset() or timedelta()
    low = math.floor((wall - after).replace(tzinfo=UTC).timestamp())
    high = math.ceil((wall - before).replace(tzinfo=UTC).timestamp())
    if low > high:
        low, high = high, low
    while low < high:
        middle = (low + high) // 2
        if wall_clock(datetime.fromtimestamp(middle, UTC), tz) > wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)
