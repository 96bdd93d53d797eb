"""Availability: who is on shift, when a suitable agent next is, and a market's coverage.

Every answer is computed from UTC intervals (`shifts.expand`), so DST changes, skipped and
repeated local times are handled once, in `localtime` and `shifts`.

- `agents_on_shift(agents, at)`: the agents on shift at an instant.
- `next_available_at(...)`: the first instant from `at` within a horizon at which a
  suitable agent is on shift; `at` itself if one is now. With `fallback_to_language`, an
  agent who speaks the language but does not serve the market counts too, as routing
  would assign them.
- `availability(...)`: the same, as the report REST serves.
- `coverage(...)`: a week in 30-minute slots of the market's local time. Slots are
  consecutive 30-minute spans of elapsed time from the market's local midnight, so a week
  with a DST change has one or two slots fewer or more, each labelled with its real local
  start (01:00 EDT and then 01:00 EST on the night the clocks fall back). Gaps are exact
  instants with nobody suitable on shift, within business hours when the market has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server.scheduling.agents import Agent, MatchLevel, match_levels, primary_language
from server.scheduling.codec import date_to_json, instant_to_json
from server.scheduling.display import format_local
from server.scheduling.errors import SchedulingError
from server.scheduling.intervals import Interval, intersect, merge, subtract
from server.scheduling.localtime import as_utc, local_midnight
from server.scheduling.markets import Market, business_intervals
from server.scheduling.shifts import expand, on_shift

__all__ = [
    "DEFAULT_HORIZON",
    "SLOT",
    "Availability",
    "Coverage",
    "CoverageSlot",
    "Gap",
    "agents_on_shift",
    "availability",
    "coverage",
    "format_local",
    "next_available_at",
    "suitable_agents",
]

DEFAULT_HORIZON = timedelta(days=14)
SLOT = timedelta(minutes=30)


def suitable_agents(
    agents: Iterable[Agent], market: str, language: str, level: MatchLevel
) -> list[Agent]:
    """The agents who suit `market` and `language` at `level`, on shift or not."""
    return [a for a in agents if a.suits(market, language, level)]


def agents_on_shift(agents: Iterable[Agent], at_utc: datetime) -> list[Agent]:
    """The agents on shift at instant `at`, in the order given."""
    return [a for a in agents if on_shift(a.schedule, at_utc)]


def _first_on_shift(agents: Iterable[Agent], start: datetime, end: datetime) -> datetime | None:
    starts = [intervals[0].start for a in agents if (intervals := expand(a.schedule, start, end))]
    return min(starts, default=None)


@dataclass(frozen=True)
class Availability:
    """When a market and language can be served, as of instant `at`.

    `match` is the best level with someone on shift at `next_available_at` (None when
    nobody comes within the horizon); `agents_on_shift` are that level's agents on shift
    at `at`. `next_available_local` is `next_available_at` in the market's zone.
    """

    market: str
    language: str
    at: datetime
    available_now: bool
    next_available_at: datetime | None
    next_available_local: datetime | None
    agents_on_shift: tuple[str, ...]
    match: MatchLevel | None

    def to_dict(self) -> dict[str, Any]:
        nxt, local = self.next_available_at, self.next_available_local
        return {
            "market": self.market,
            "language": self.language,
            "at": instant_to_json(self.at),
            "available_now": self.available_now,
            "next_available_at": None if nxt is None else instant_to_json(nxt),
            "next_available_local": None if local is None else local.isoformat(),
            "agents_on_shift": list(self.agents_on_shift),
            "match": None if self.match is None else self.match.value,
        }


def availability(
    agents: Sequence[Agent],
    market: Market,
    language: str,
    at_utc: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    *,
    fallback_to_language: bool = False,
) -> Availability:
    """Whether `market` and `language` are served at `at`, and if not, from when."""
    at = as_utc(at_utc)
    language = primary_language(language)
    best: tuple[datetime, MatchLevel] | None = None
    for level in match_levels(fallback_to_language):
        first = _first_on_shift(
            suitable_agents(agents, market.code, language, level), at, at + horizon
        )
        if first is not None and (best is None or first < best[0]):
            best = (first, level)
    if best is None:
        return Availability(market.code, language, at, False, None, None, (), None)
    first, level = best
    on_now = agents_on_shift(suitable_agents(agents, market.code, language, level), at)
    return Availability(
        market=market.code,
        language=language,
        at=at,
        available_now=first == at,
        next_available_at=first,
        next_available_local=first.astimezone(market.zone),
        agents_on_shift=tuple(a.agent_id for a in on_now),
        match=level,
    )


def next_available_at(
    agents: Sequence[Agent],
    market: Market,
    language: str,
    at_utc: datetime,
    horizon: timedelta = DEFAULT_HORIZON,
    *,
    fallback_to_language: bool = False,
) -> datetime | None:
    """The first instant in [at, at + horizon) a suitable agent is on shift, or None."""
    report = availability(
        agents, market, language, at_utc, horizon, fallback_to_language=fallback_to_language
    )
    return report.next_available_at


@dataclass(frozen=True)
class CoverageSlot:
    """One slot: UTC span, local start, agents on shift all of it and part of it."""

    start: datetime
    end: datetime
    local_start: datetime
    agent_ids: tuple[str, ...]
    partial_agent_ids: tuple[str, ...]
    in_business_hours: bool

    @property
    def count(self) -> int:
        """Suitable agents on shift for the whole slot."""
        return len(self.agent_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": instant_to_json(self.start),
            "end": instant_to_json(self.end),
            "local_start": self.local_start.isoformat(),
            "count": self.count,
            "agent_ids": list(self.agent_ids),
            "partial_agent_ids": list(self.partial_agent_ids),
            "in_business_hours": self.in_business_hours,
        }


@dataclass(frozen=True)
class Gap:
    """A run of time with nobody suitable on shift, in UTC and in the market's zone."""

    start: datetime
    end: datetime
    local_start: datetime
    local_end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": instant_to_json(self.start),
            "end": instant_to_json(self.end),
            "local_start": self.local_start.isoformat(),
            "local_end": self.local_end.isoformat(),
            "minutes": self.duration // timedelta(minutes=1),
        }


@dataclass(frozen=True)
class Coverage:
    """A market's week: slots in its local time and the gaps in cover."""

    market: str
    tz: str
    week_start: date
    languages: tuple[str, ...]
    slots: tuple[CoverageSlot, ...]
    gaps: tuple[Gap, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "tz": self.tz,
            "week_start": date_to_json(self.week_start),
            "languages": list(self.languages),
            "slots": [s.to_dict() for s in self.slots],
            "gaps": [g.to_dict() for g in self.gaps],
        }


def _slot_spans(start: datetime, end: datetime, slot: timedelta) -> list[Interval]:
    spans, cursor = [], start
    while cursor < end:
        spans.append(Interval(cursor, min(cursor + slot, end)))
        cursor += slot
    return spans


def coverage(
    agents: Sequence[Agent],
    market: Market,
    week_start_local_date: date,
    *,
    language: str | None = None,
    slot: timedelta = SLOT,
) -> Coverage:
    """A week of `market` from local midnight of `week_start_local_date`.

    Suitable agents serve the market and speak `language`, or without it any of the
    market's languages.
    """
    if slot <= timedelta(0):
        raise SchedulingError(f"a coverage slot must be positive, got {slot}")
    languages = (primary_language(language),) if language else market.languages
    suitable = [
        a
        for a in agents
        if any(a.suits(market.code, x, MatchLevel.MARKET_AND_LANGUAGE) for x in languages)
    ]
    tz = market.zone
    start = local_midnight(week_start_local_date, tz)
    end = local_midnight(week_start_local_date + timedelta(days=7), tz)
    on = {a.agent_id: expand(a.schedule, start, end) for a in suitable}
    business = business_intervals(market, start, end)

    slots = []
    for span in _slot_spans(start, end, slot):
        full = tuple(i for i, iv in on.items() if intersect(iv, [span]) == [span])
        part = tuple(i for i, iv in on.items() if i not in full and intersect(iv, [span]))
        slots.append(
            CoverageSlot(
                start=span.start,
                end=span.end,
                local_start=span.start.astimezone(tz),
                agent_ids=full,
                partial_agent_ids=part,
                in_business_hours=bool(intersect(business, [span])),
            )
        )
    uncovered = subtract(business, merge(i for iv in on.values() for i in iv))
    gaps = tuple(
        Gap(g.start, g.end, g.start.astimezone(tz), g.end.astimezone(tz)) for g in uncovered
    )
    return Coverage(
        market=market.code,
        tz=market.tz,
        week_start=week_start_local_date,
        languages=languages,
        slots=tuple(slots),
        gaps=gaps,
    )
