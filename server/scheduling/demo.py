"""The demo store's agents and markets, for `kefu serve --demo` to seed.

Agent ids are the demo agents' e-mail addresses (as in `server.demo.DEMO_AGENTS`); the
seeding code maps them to the stored agents' ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

from server.scheduling.agents import Agent
from server.scheduling.calendars import FRIDAY_SATURDAY, HolidayCalendar
from server.scheduling.localtime import Weekday
from server.scheduling.markets import Market
from server.scheduling.shifts import Schedule, WeeklyShift

__all__ = ["DemoSchedule", "demo_schedule"]

WORKWEEK = (Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)


@dataclass(frozen=True)
class DemoSchedule:
    """The demo's agents and markets; `market("US")` finds one by code."""

    agents: tuple[Agent, ...]
    markets: tuple[Market, ...]

    def market(self, code: str) -> Market:
        return next(m for m in self.markets if m.code == code.upper())

    def to_dict(self) -> dict[str, Any]:
        return {
            "agents": [a.to_dict() for a in self.agents],
            "markets": [m.to_dict() for m in self.markets],
        }


def _workweek(start: time, duration: timedelta) -> tuple[WeeklyShift, ...]:
    return tuple(WeeklyShift(day, start, duration) for day in WORKWEEK)


def demo_schedule() -> DemoSchedule:
    """Li Wei (days) and Chen Jing (nights) in Shanghai on China's calendar; five markets."""
    china = HolidayCalendar("CN")
    li_wei = Agent(
        agent_id="li.wei@demo.kefu.test",
        name="Li Wei",
        schedule=Schedule("Asia/Shanghai", _workweek(time(9), timedelta(hours=9)), calendar=china),
        languages=("zh", "en"),
        markets=("US", "DE", "SA"),
    )
    chen_jing = Agent(
        agent_id="chen.jing@demo.kefu.test",
        name="Chen Jing",
        schedule=Schedule("Asia/Shanghai", _workweek(time(21), timedelta(hours=9)), calendar=china),
        languages=("zh", "en", "es", "pt"),
        markets=("US", "BR"),
    )
    markets = (
        Market("US", "America/New_York", ("en",)),
        Market("DE", "Europe/Berlin", ("de",)),
        Market("SA", "Asia/Riyadh", ("ar",), weekend=FRIDAY_SATURDAY),
        Market("BR", "America/Sao_Paulo", ("pt",)),
        Market("JP", "Asia/Tokyo", ("ja",)),
    )
    return DemoSchedule((li_wei, chen_jing), markets)
