"""Availability and coverage over the demo store's agents and markets."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from server.scheduling.agents import Agent, MatchLevel
from server.scheduling.availability import (
    agents_on_shift,
    availability,
    coverage,
    next_available_at,
)
from server.scheduling.demo import demo_schedule
from server.scheduling.localtime import zone
from server.scheduling.markets import BusinessHours
from server.scheduling.shifts import TimeOff
from tests.scheduling.support import utc

DEMO = demo_schedule()
LI_WEI, CHEN_JING = DEMO.agents
NEW_YORK, SAO_PAULO = zone("America/New_York"), zone("America/Sao_Paulo")


def ids(agents: list[Agent]) -> list[str]:
    return [a.name for a in agents]


def test_the_demo_is_as_the_issue_describes() -> None:
    assert (LI_WEI.name, LI_WEI.languages, LI_WEI.markets) == (
        "Li Wei",
        ("zh", "en"),
        ("US", "DE", "SA"),
    )
    assert CHEN_JING.languages == ("zh", "en", "es", "pt")
    assert CHEN_JING.markets == ("US", "BR")
    assert [(m.code, m.tz, m.languages) for m in DEMO.markets] == [
        ("US", "America/New_York", ("en",)),
        ("DE", "Europe/Berlin", ("de",)),
        ("SA", "Asia/Riyadh", ("ar",)),
        ("BR", "America/Sao_Paulo", ("pt",)),
        ("JP", "Asia/Tokyo", ("ja",)),
    ]
    assert DEMO.market("SA").is_working_day(date(2026, 1, 9)) is False  # a Friday
    assert json.loads(json.dumps(DEMO.to_dict()))["agents"][1]["schedule"]["weekly"][0] == {
        "weekday": "monday",
        "start": "21:00",
        "duration_minutes": 540,
    }
    assert Agent.from_dict(CHEN_JING.to_dict()) == CHEN_JING


def test_who_is_on_shift_for_the_us_through_a_new_york_day() -> None:
    us = DEMO.market("US")
    tuesday = date(2026, 3, 3)
    expected = {
        time(0): ["Li Wei"],  # 13:00 in Shanghai
        time(5): [],  # Li Wei's 18:00 end; Chen Jing starts at 21:00 Shanghai = 08:00
        time(8): ["Chen Jing"],
        time(16, 59): ["Chen Jing"],
        time(17): [],
        time(20): ["Li Wei"],  # Wednesday 09:00 in Shanghai
    }
    for clock, names in expected.items():
        at = datetime.combine(tuesday, clock, NEW_YORK)
        assert ids(agents_on_shift(DEMO.agents, at)) == names, clock
        report = availability(DEMO.agents, us, "en", at)
        assert report.available_now is bool(names)
        assert [a.split("@")[0] for a in report.agents_on_shift] == [
            n.lower().replace(" ", ".") for n in names
        ]


def test_next_available_for_the_us_is_an_hour_later_by_the_clock_after_march_8() -> None:
    us = DEMO.market("US")
    before = next_available_at(DEMO.agents, us, "en", datetime(2026, 2, 6, 18, tzinfo=NEW_YORK))
    after = next_available_at(DEMO.agents, us, "en", datetime(2026, 3, 13, 18, tzinfo=NEW_YORK))
    assert before is not None and after is not None
    assert before.astimezone(NEW_YORK).strftime("%a %H:%M %Z") == "Sun 20:00 EST"
    assert after.astimezone(NEW_YORK).strftime("%a %H:%M %Z") == "Sun 21:00 EDT"
    assert before == utc(2026, 2, 9, 1) and after == utc(2026, 3, 16, 1)


def test_chinas_working_saturday_and_spring_festival_show_in_us_availability() -> None:
    us = DEMO.market("US")
    shanghai = zone("Asia/Shanghai")
    # Saturday Feb 28 is a working day in China: Li Wei starts Friday 20:00 New York time.
    friday_evening = datetime(2026, 2, 27, 18, tzinfo=NEW_YORK)
    found = next_available_at(DEMO.agents, us, "en", friday_evening)
    assert found == datetime(2026, 2, 28, 9, tzinfo=shanghai)
    assert ids(agents_on_shift(DEMO.agents, datetime(2026, 2, 14, 12, tzinfo=shanghai))) == [
        "Li Wei"
    ]
    assert agents_on_shift(DEMO.agents, datetime(2026, 2, 17, 12, tzinfo=shanghai)) == []
    assert ids(agents_on_shift(DEMO.agents, datetime(2026, 2, 14, 22, tzinfo=shanghai))) == [
        "Chen Jing"
    ]


def test_nobody_speaks_japanese() -> None:
    jp = DEMO.market("JP")
    at = utc(2026, 3, 3, 3)
    assert next_available_at(DEMO.agents, jp, "ja", at) is None
    assert next_available_at(DEMO.agents, jp, "ja", at, fallback_to_language=True) is None
    report = availability(DEMO.agents, jp, "ja", at, fallback_to_language=True)
    assert report.to_dict() == {
        "market": "JP",
        "language": "ja",
        "at": "2026-03-03T03:00:00Z",
        "available_now": False,
        "next_available_at": None,
        "next_available_local": None,
        "agents_on_shift": [],
        "match": None,
    }


def test_spanish_in_germany_is_served_only_with_the_language_fallback() -> None:
    de = DEMO.market("DE")
    at = utc(2026, 3, 3, 3)  # Li Wei on shift; Chen Jing from 13:00 UTC
    assert next_available_at(DEMO.agents, de, "es", at) is None
    report = availability(DEMO.agents, de, "es-MX", at, fallback_to_language=True)
    assert report.next_available_at == utc(2026, 3, 3, 13)
    assert report.next_available_local == datetime(2026, 3, 3, 14, tzinfo=zone("Europe/Berlin"))
    assert report.match is MatchLevel.LANGUAGE_ONLY
    assert report.to_dict()["next_available_local"] == "2026-03-03T14:00:00+01:00"
    # English in Germany: Li Wei serves DE and is on shift now.
    english = availability(DEMO.agents, de, "en", at, fallback_to_language=True)
    assert english.available_now and english.match is MatchLevel.MARKET_AND_LANGUAGE
    assert english.agents_on_shift == (LI_WEI.agent_id,)
    # German: nobody, even with the fallback.
    assert next_available_at(DEMO.agents, de, "de", at, fallback_to_language=True) is None


def test_with_the_fallback_the_earliest_suitable_agent_wins_even_outside_the_market() -> None:
    br = DEMO.market("BR")
    at = utc(2026, 3, 3, 3)  # Li Wei (not serving BR) on shift; Chen Jing from 13:00 UTC
    assert next_available_at(DEMO.agents, br, "en", at) == utc(2026, 3, 3, 13)
    report = availability(DEMO.agents, br, "en", at, fallback_to_language=True)
    assert report.available_now and report.match is MatchLevel.LANGUAGE_ONLY
    assert report.agents_on_shift == (LI_WEI.agent_id,)
    later = availability(DEMO.agents, br, "en", utc(2026, 3, 3, 14), fallback_to_language=True)
    assert later.available_now and later.match is MatchLevel.MARKET_AND_LANGUAGE
    assert later.agents_on_shift == (CHEN_JING.agent_id,)


def test_the_horizon_bounds_the_search_and_spring_festival_empties_it() -> None:
    us = DEMO.market("US")
    festival_eve = utc(2026, 2, 14, 23)  # Sunday 07:00 in Shanghai, Feb 15: days off follow
    found = next_available_at(DEMO.agents, us, "en", festival_eve, timedelta(days=14))
    assert found == datetime(2026, 2, 24, 9, tzinfo=zone("Asia/Shanghai"))  # Tuesday after
    assert next_available_at(DEMO.agents, us, "en", festival_eve, timedelta(days=9)) is None


def test_time_off_moves_the_next_available_time() -> None:
    us = DEMO.market("US")
    at = utc(2026, 3, 3, 12)
    away = replace(
        CHEN_JING,
        schedule=replace(
            CHEN_JING.schedule, time_off=(TimeOff(utc(2026, 3, 3, 12), utc(2026, 3, 3, 15)),)
        ),
    )
    assert next_available_at([LI_WEI, CHEN_JING], us, "en", at) == utc(2026, 3, 3, 13)
    assert next_available_at([LI_WEI, away], us, "en", at) == utc(2026, 3, 3, 15)


def test_brazil_coverage_is_chen_jings_nights_and_the_gaps_are_the_rest() -> None:
    br = DEMO.market("BR")
    week = coverage(DEMO.agents, br, date(2026, 3, 2))
    assert len(week.slots) == 7 * 48
    assert week.slots[0].local_start == datetime(2026, 3, 2, 0, tzinfo=SAO_PAULO)
    covered = [s for s in week.slots if s.count]
    assert len(covered) == 5 * 18  # 10:00-19:00 Brasília time, Monday to Friday
    assert {s.agent_ids for s in covered} == {(CHEN_JING.agent_id,)}
    assert covered[0].local_start.strftime("%a %H:%M") == "Mon 10:00"
    assert covered[-1].local_start.strftime("%a %H:%M") == "Fri 18:30"
    gaps = [
        (g.local_start.strftime("%a %H:%M"), g.local_end.strftime("%a %H:%M")) for g in week.gaps
    ]
    assert gaps == [
        ("Mon 00:00", "Mon 10:00"),
        ("Mon 19:00", "Tue 10:00"),
        ("Tue 19:00", "Wed 10:00"),
        ("Wed 19:00", "Thu 10:00"),
        ("Thu 19:00", "Fri 10:00"),
        ("Fri 19:00", "Mon 00:00"),
    ]
    assert sum((g.duration for g in week.gaps), timedelta()) == timedelta(hours=7 * 24 - 45)


def test_brazil_coverage_gaps_within_business_hours_only() -> None:
    br = replace(DEMO.market("BR"), business_hours=BusinessHours(time(8), time(20)))
    week = coverage(DEMO.agents, br, date(2026, 3, 2))
    gaps = [(g.local_start.strftime("%a %H:%M"), g.local_end.strftime("%H:%M")) for g in week.gaps]
    weekdays = ("Mon", "Tue", "Wed", "Thu", "Fri")
    assert gaps == [
        item for day in weekdays for item in ((f"{day} 08:00", "10:00"), (f"{day} 19:00", "20:00"))
    ]
    assert sum(s.in_business_hours for s in week.slots) == 5 * 24
    data = json.loads(json.dumps(week.to_dict()))
    assert data["gaps"][0] == {
        "start": "2026-03-02T11:00:00Z",
        "end": "2026-03-02T13:00:00Z",
        "local_start": "2026-03-02T08:00:00-03:00",
        "local_end": "2026-03-02T10:00:00-03:00",
        "minutes": 120,
    }


def test_us_coverage_in_the_week_the_clocks_spring_forward_has_46_slots_on_sunday() -> None:
    week = coverage(DEMO.agents, DEMO.market("US"), date(2026, 3, 2))
    assert len(week.slots) == 7 * 48 - 2
    sunday = [s for s in week.slots if s.local_start.date() == date(2026, 3, 8)]
    assert len(sunday) == 46
    assert [s.local_start.strftime("%H:%M %Z") for s in sunday[3:6]] == [
        "01:30 EST",
        "03:00 EDT",
        "03:30 EDT",
    ]
    assert sunday[-6].local_start.strftime("%H:%M") == "21:00" and sunday[-6].count == 1
    assert sunday[-7].count == 0
    fall = coverage(DEMO.agents, DEMO.market("US"), date(2026, 10, 26))
    assert len(fall.slots) == 7 * 48 + 2


def test_partial_slots_are_told_apart_from_full_ones() -> None:
    odd = replace(
        LI_WEI,
        schedule=replace(
            LI_WEI.schedule,
            weekly=tuple(replace(s, start=time(9, 15)) for s in LI_WEI.schedule.weekly),
        ),
    )
    week = coverage([odd], DEMO.market("US"), date(2026, 3, 2))
    partial = [s for s in week.slots if s.partial_agent_ids]
    assert partial[0].partial_agent_ids == (LI_WEI.agent_id,) and partial[0].count == 0
    # Tuesday 09:15 in Shanghai is Monday 20:15 in New York; 18:15 is 05:15.
    assert partial[0].local_start.strftime("%a %H:%M") == "Mon 05:00"
    assert partial[1].local_start.strftime("%a %H:%M") == "Mon 20:00"
    first_gap = week.gaps[0]
    assert first_gap.local_start.strftime("%a %H:%M") == "Mon 05:15"
    assert first_gap.local_end.strftime("%a %H:%M") == "Mon 20:15"
