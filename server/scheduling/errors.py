"""Errors for invalid schedules, zones and calendars, rooted in the gateway's tree.

    BadRequest (server.errors)
    └── SchedulingError        invalid_schedule
        ├── UnknownTimeZone    unknown_time_zone
        └── UnknownCalendar    unknown_calendar

Being BadRequest, they reach REST clients as 400 with these codes and no extra mapping.
"""

from __future__ import annotations

from server.errors import BadRequest


class SchedulingError(BadRequest):
    code = "invalid_schedule"


class UnknownTimeZone(SchedulingError):
    code = "unknown_time_zone"


class UnknownCalendar(SchedulingError):
    code = "unknown_calendar"
