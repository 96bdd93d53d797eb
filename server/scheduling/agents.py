"""Agents' profiles, and who is suitable for a market and a shopper's language.

Languages compare by primary subtag, case-insensitively: an agent who speaks "zh" serves
a shopper writing "zh-Hans-CN" or "ZH_tw". Markets compare by code, case-insensitively.
Suitability has two levels, tried in order by availability and routing alike: serving
the market and speaking the language, then (on request) speaking the language only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from server.scheduling.errors import SchedulingError
from server.scheduling.shifts import Schedule

__all__ = [
    "DEFAULT_MAX_CHATS",
    "Agent",
    "MatchLevel",
    "match_levels",
    "primary_language",
    "serves",
    "speaks",
    "suits",
]

DEFAULT_MAX_CHATS = 3


class MatchLevel(Enum):
    """How well an agent suits a conversation, best first."""

    MARKET_AND_LANGUAGE = "market_and_language"
    LANGUAGE_ONLY = "language_only"


def match_levels(fallback_to_language: bool) -> tuple[MatchLevel, ...]:
    """The levels to try, in order."""
    if fallback_to_language:
        return (MatchLevel.MARKET_AND_LANGUAGE, MatchLevel.LANGUAGE_ONLY)
    return (MatchLevel.MARKET_AND_LANGUAGE,)


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag, lower-case: "pt-BR" -> "pt"."""
    primary = tag.replace("_", "-").split("-", 1)[0].strip().lower()
    if not primary:
        raise SchedulingError(f"expected a language tag like 'en' or 'pt-BR', got {tag!r}")
    return primary


def speaks(languages: Iterable[str], language: str) -> bool:
    """Whether someone speaking `languages` can answer in `language`."""
    wanted = primary_language(language)
    return any(primary_language(lang) == wanted for lang in languages)


def serves(markets: Iterable[str], market: str) -> bool:
    """Whether someone serving `markets` serves `market`."""
    return market.upper() in {m.upper() for m in markets}


def suits(
    languages: Iterable[str], markets: Iterable[str], market: str, language: str, level: MatchLevel
) -> bool:
    """Whether someone with `languages` and `markets` suits at `level`."""
    if not speaks(languages, language):
        return False
    return level is MatchLevel.LANGUAGE_ONLY or serves(markets, market)


@dataclass(frozen=True)
class Agent:
    """An agent as scheduling sees them: languages, markets, capacity, schedule."""

    agent_id: str
    name: str
    schedule: Schedule
    languages: tuple[str, ...]
    markets: tuple[str, ...]
    max_chats: int = DEFAULT_MAX_CHATS

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(primary_language(x) for x in self.languages))
        object.__setattr__(self, "markets", tuple(m.upper() for m in self.markets))
        if self.max_chats < 1:
            raise SchedulingError(f"agent {self.agent_id} needs a capacity of at least 1")

    def suits(self, market: str, language: str, level: MatchLevel) -> bool:
        return suits(self.languages, self.markets, market, language, level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "name": self.name,
            "schedule": self.schedule.to_dict(),
            "languages": list(self.languages),
            "markets": list(self.markets),
            "max_chats": self.max_chats,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Agent:
        return cls(
            agent_id=data["agent_id"],
            name=data["name"],
            schedule=Schedule.from_dict(data["schedule"]),
            languages=tuple(data["languages"]),
            markets=tuple(data["markets"]),
            max_chats=data.get("max_chats", DEFAULT_MAX_CHATS),
        )
