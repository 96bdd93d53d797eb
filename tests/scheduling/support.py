"""Test helpers: UTC instants, the zones tests roam, their transitions, a brute-force oracle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from server.scheduling.localtime import wall_clock, zone


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Asia/Shanghai",
    "Asia/Riyadh",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",
    "Pacific/Chatham",
    "Pacific/Apia",
)


@lru_cache
def transitions(name: str, first_year: int = 2010, last_year: int = 2030) -> tuple[datetime, ...]:
    """Every instant the zone's UTC offset changes between the two years, to the second."""
    tz = zone(name)
    step = timedelta(hours=6)
    found = []
    cursor = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    while cursor < end:
        nxt = cursor + step
        if cursor.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            low, high = int(cursor.timestamp()), int(nxt.timestamp())
            before = cursor.astimezone(tz).utcoffset()
            while low < high:
                middle = (low + high) // 2
                if datetime.fromtimestamp(middle, UTC).astimezone(tz).utcoffset() == before:
                    low = middle + 1
                else:
                    high = middle
            found.append(datetime.fromtimestamp(low, UTC))
        cursor = nxt
    return tuple(found)


def first_instant_reading_at_least(wall: datetime, name: str) -> datetime:
    """By brute force: the first instant whose local reading in `name` is >= naive `wall`.

    That is the documented rule for a shift's start: the instant itself when `wall` happens
    once, its first occurrence when it happens twice, the end of the gap when it never does.
    """
    tz = zone(name)
    offsets = [wall.replace(tzinfo=tz, fold=f).utcoffset() or timedelta() for f in (0, 1)]
    cursor = wall.replace(tzinfo=UTC) - max(offsets) - timedelta(hours=2)
    if wall_clock(cursor, tz) >= wall:
        # Every offset is within UTC-12..UTC+14: this instant reads earlier than `wall`.
        cursor = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    # Minute by minute, not faster: a coarser step could jump over a fold's first pass.
    while wall_clock(cursor, tz) < wall:
        cursor += timedelta(minutes=1)
    return cursor
