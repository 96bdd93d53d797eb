"""JSON forms of the values schedules hold: wall-clock times, dates, durations, instants.

Wall-clock times are "HH:MM", dates ISO "YYYY-MM-DD", durations whole minutes, instants
ISO 8601 in UTC with a "Z". Parsing refuses what formatting would never produce (naive
instants, seconds in a shift time), so a bad row fails loudly instead of shifting a shift.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import as_utc

__all__ = [
    "date_from_json",
    "date_to_json",
    "instant_from_json",
    "instant_to_json",
    "minutes_from_json",
    "minutes_to_json",
    "time_from_json",
    "time_to_json",
]

MINUTE = timedelta(minutes=1)


def time_to_json(value: time) -> str:
    return value.strftime("%H:%M")


def time_from_json(text: str) -> time:
    try:
        value = time.fromisoformat(text)
    except ValueError:
        raise SchedulingError(f"expected a wall-clock time 'HH:MM', got {text!r}") from None
    if value.second or value.microsecond or value.tzinfo is not None:
        raise SchedulingError(f"expected a wall-clock time 'HH:MM', got {text!r}")
    return value


def minutes_to_json(value: timedelta) -> int:
    return int(value // MINUTE)


def minutes_from_json(value: object) -> timedelta:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SchedulingError(f"expected a whole number of minutes, got {value!r}")
    return timedelta(minutes=value)


def date_to_json(value: date) -> str:
    return value.isoformat()


def date_from_json(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SchedulingError(f"expected a date 'YYYY-MM-DD', got {text!r}") from None


def instant_to_json(value: datetime) -> str:
    return as_utc(value).isoformat().replace("+00:00", "Z")


def instant_from_json(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SchedulingError(f"expected an ISO 8601 instant, got {text!r}") from None
    return as_utc(value)
