"""Scheduling over REST: the demo schedule's availability and coverage at fixed instants
(DST weeks included), calendars, and validation errors with stable codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.harness import RunningServer, TenantFixture
from tests.routing.support import (
    CHEN_JING,
    LI_WEI,
    demo_markets,
    demo_profile,
    profile,
    routed_tenant,
)


@dataclass
class DemoTenant:
    tenant: TenantFixture
    ids: dict[str, str]


@pytest.fixture
async def demo(rest_server: RunningServer, rest_http: httpx.AsyncClient) -> DemoTenant:
    """A tenant set up like the demo store, over REST: Li Wei (days), Chen Jing (nights)."""
    tenant = await routed_tenant(rest_server, rest_http)
    chen = await tenant.add_agent("Chen Jing")
    await profile(tenant, tenant.agent, **demo_profile(LI_WEI))
    await profile(tenant, chen, **demo_profile(CHEN_JING))
    await demo_markets(tenant)
    # The admin takes no chats: an empty week.
    await profile(tenant, tenant.admin, schedule={"weekly": []})
    return DemoTenant(tenant, {"li": tenant.agent.id, "chen": chen.id})


async def ask(tenant: TenantFixture, **params: Any) -> dict[str, Any]:
    response = await tenant.http.get(
        "/api/v1/availability", params=params, headers=tenant.agent.headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


async def test_availability_of_the_demo_schedule_at_fixed_instants(
    demo: DemoTenant,
) -> None:
    demo_tenant, ids = demo.tenant, demo.ids

    # Monday 12:00 UTC: Li Wei ended at 10:00 UTC, Chen Jing starts at 13:00 UTC, which is
    # 08:00 in New York before the US clock change and 09:00 after it.
    winter = await ask(demo_tenant, market="US", language="en", at="2026-03-02T12:00:00Z")
    assert winter == {
        "market": "US",
        "language": "en",
        "at": "2026-03-02T12:00:00Z",
        "available_now": False,
        "next_available_at": "2026-03-02T13:00:00Z",
        "next_available_local": "2026-03-02T08:00:00-05:00",
        "agents_on_shift": [],
        "match": "market_and_language",
        "tz": "America/New_York",
        "agents": [],
    }
    summer = await ask(demo_tenant, market="US", language="en", at="2026-03-09T12:00:00Z")
    assert summer["next_available_local"] == "2026-03-09T09:00:00-04:00"

    # Monday 05:00 UTC: Li Wei is on shift for the US.
    now = await ask(demo_tenant, market="US", language="en-US", at="2026-03-02T05:00:00Z")
    assert now["available_now"] is True
    assert now["agents_on_shift"] == [ids["li"]]
    assert now["agents"] == [{"id": ids["li"], "name": "Li Wei"}]
    assert now["next_available_at"] == "2026-03-02T05:00:00Z"

    # Germany, EU/US gap: Europe fell back on 2026-10-25, so Li Wei's 09:00 Shanghai
    # start is 02:00 in Berlin on Monday 26 October (03:00 the Monday before).
    after = await ask(demo_tenant, market="DE", language="en", at="2026-10-26T00:00:00Z")
    assert after["next_available_local"] == "2026-10-26T02:00:00+01:00"
    before = await ask(demo_tenant, market="DE", language="en", at="2026-10-19T00:00:00Z")
    assert before["next_available_local"] == "2026-10-19T03:00:00+02:00"
    # Nobody speaks German: no answer within the horizon.
    german = await ask(demo_tenant, market="DE", at="2026-10-19T00:00:00Z")
    assert german["language"] == "de"
    assert german["available_now"] is False and german["next_available_at"] is None

    # Friday in Riyadh is the weekend there, but Li Wei (Shanghai) works.
    riyadh = await ask(demo_tenant, market="SA", language="en", at="2026-03-13T06:00:00Z")
    assert riyadh["available_now"] is True and riyadh["agents_on_shift"] == [ids["li"]]
    assert riyadh["tz"] == "Asia/Riyadh"

    # China's working Saturday, and the Spring Festival.
    saturday = await ask(demo_tenant, market="US", language="en", at="2026-02-14T03:00:00Z")
    assert saturday["available_now"] is True
    festival = await ask(demo_tenant, market="US", language="en", at="2026-02-17T04:00:00Z")
    assert festival["next_available_at"] == "2026-02-24T01:00:00Z"
    assert festival["next_available_local"] == "2026-02-23T20:00:00-05:00"

    # Portuguese in the US: only by language (Chen Jing serves BR and the US; Li Wei
    # speaks no Portuguese), then with `fallback=false` the same.
    pt = await ask(demo_tenant, market="US", language="pt", at="2026-03-02T14:00:00Z")
    assert pt["available_now"] is True and pt["agents_on_shift"] == [ids["chen"]]
    # Japanese shoppers: nobody.
    jp = await ask(demo_tenant, market="JP", at="2026-03-02T14:00:00Z")
    assert jp["language"] == "ja" and jp["match"] is None


async def test_availability_fallback_to_language(demo: DemoTenant) -> None:
    demo_tenant = demo.tenant
    # Brazil in English: Chen Jing serves BR; at Monday 05:00 UTC only Li Wei (no BR) works.
    at = "2026-03-02T05:00:00Z"
    strict = await ask(demo_tenant, market="BR", language="en", at=at, fallback="false")
    assert strict["available_now"] is False
    assert strict["next_available_at"] == "2026-03-02T13:00:00Z"
    loose = await ask(demo_tenant, market="BR", language="en", at=at, fallback="true")
    assert loose["available_now"] is True and loose["match"] == "language_only"
    # Without the parameter, the tenant's routing setting (fallback on) applies.
    assert (await ask(demo_tenant, market="BR", language="en", at=at))["available_now"] is True


async def test_coverage_week_with_the_us_clock_change(demo: DemoTenant) -> None:
    demo_tenant = demo.tenant
    response = await demo_tenant.http.get(
        "/api/v1/coverage",
        params={"market": "US", "week": "2026-03-02"},
        headers=demo_tenant.admin.headers,
    )
    assert response.status_code == 200, response.text
    week = response.json()
    assert week["tz"] == "America/New_York" and week["languages"] == ["en"]
    # Sunday 2026-03-08 is 23 hours long in New York: 334 half hours, not 336.
    assert len(week["slots"]) == 7 * 48 - 2
    assert week["slots"][0]["local_start"] == "2026-03-02T00:00:00-05:00"
    gaps = [(g["local_start"], g["local_end"]) for g in week["gaps"]]
    # Mornings between Li Wei and Chen Jing (05:00-08:00 EST), nights between Chen Jing
    # and Li Wei (17:00-20:00 EST), and the weekend until Li Wei's Monday 09:00 in
    # Shanghai, which is Sunday 21:00 in New York, in EDT by then.
    assert gaps[0] == ("2026-03-02T05:00:00-05:00", "2026-03-02T08:00:00-05:00")
    assert gaps[1] == ("2026-03-02T17:00:00-05:00", "2026-03-02T20:00:00-05:00")
    assert gaps[-1] == ("2026-03-06T17:00:00-05:00", "2026-03-08T21:00:00-04:00")
    assert len(gaps) == 5 + 4 + 1
    assert week["gaps"][-1]["minutes"] == 51 * 60  # 52 hours of wall clock, one skipped
    ids = demo.ids
    assert set(week["agents"]) == {ids["li"], ids["chen"]}
    monday_9 = next(s for s in week["slots"] if s["local_start"] == "2026-03-02T09:00:00-05:00")
    assert monday_9["agent_ids"] == [ids["chen"]] and monday_9["in_business_hours"] is True


async def test_schedule_round_trip_and_time_off(demo: DemoTenant) -> None:
    demo_tenant = demo.tenant
    http, admin = demo_tenant.http, demo_tenant.admin.headers
    li = demo_tenant.agent
    view = await http.get(f"/api/v1/agents/{li.id}/schedule", headers=li.headers)
    assert view.status_code == 200
    data = view.json()
    assert data["timezone"] == "Asia/Shanghai"
    assert data["languages"] == ["zh", "en"] and data["markets"] == ["DE", "SA", "US"]
    assert data["schedule"] == demo_profile(LI_WEI)["schedule"]
    assert data["language"] == "en"  # the reading language is untouched
    assert data["always_on_shift"] is False
    assert len(data["upcoming"]) in (4, 5, 6)  # a week of weekdays, minus holidays
    me = await http.get("/api/v1/agents/me/schedule", headers=li.headers)
    assert me.json()["agent_id"] == li.id

    # Time off in Shanghai wall-clock time: Monday 2026-03-02, the whole day.
    added = await http.post(
        f"/api/v1/agents/{li.id}/time-off",
        json={"start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00", "basis": "local"},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert added.json()["schedule"]["time_off"] == [
        {"start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00", "basis": "local", "note": ""}
    ]
    off = await ask(demo_tenant, market="US", language="en", at="2026-03-02T05:00:00Z")
    assert off["available_now"] is False  # Li Wei is off; Chen Jing starts at 13:00 UTC
    removed = await http.delete(f"/api/v1/agents/{li.id}/time-off/0", headers=admin)
    assert removed.status_code == 200 and removed.json()["schedule"]["time_off"] == []
    await error(
        await http.delete(f"/api/v1/agents/{li.id}/time-off/0", headers=admin),
        404,
        "time_off_not_found",
    )

    # Back to no schedule: on shift whenever online (and this agent is not connected).
    cleared = await http.put(
        f"/api/v1/agents/{demo_tenant.admin.id}/schedule", json={"schedule": None}, headers=admin
    )
    assert cleared.json()["always_on_shift"] is True and cleared.json()["schedule"] is None
    assert cleared.json()["on_shift_now"] is False
    await error(
        await http.post(
            f"/api/v1/agents/{demo_tenant.admin.id}/time-off",
            json={"start": "2026-03-02T00:00:00Z", "end": "2026-03-03T00:00:00Z"},
            headers=admin,
        ),
        400,
        "invalid_schedule",
    )


SCHEDULE_ERRORS: list[tuple[dict[str, Any], int, str]] = [
    ({"timezone": "Mars/Olympus_Mons"}, 400, "unknown_time_zone"),
    ({"schedule": {"tz": "Europe/Atlantis"}}, 400, "unknown_time_zone"),
    (
        {"schedule": {"weekly": [{"weekday": "funday", "start": "09:00", "duration_minutes": 60}]}},
        400,
        "invalid_schedule",
    ),
    (
        {"schedule": {"weekly": [{"weekday": "monday", "start": "25:00", "duration_minutes": 60}]}},
        400,
        "invalid_schedule",
    ),
    (
        {"schedule": {"weekly": [{"weekday": "monday", "start": "09:00", "duration_minutes": 0}]}},
        400,
        "invalid_schedule",
    ),
    (
        {"schedule": {"weekly": [{"start": "09:00", "duration_minutes": 60}]}},
        400,
        "invalid_schedule",
    ),
    ({"schedule": {"weekly": [], "calendar": {"country": "XX"}}}, 400, "unknown_calendar"),
    (
        {"timezone": "Asia/Tokyo", "schedule": {"tz": "Asia/Shanghai", "weekly": []}},
        400,
        "invalid_schedule",
    ),
    (
        {
            "schedule": {
                "weekly": [],
                "time_off": [{"start": "2026-03-03T00:00:00Z", "end": "2026-03-02T00:00:00Z"}],
            }
        },
        400,
        "invalid_schedule",
    ),
    ({"languages": ["English!"]}, 422, "invalid_request"),
    ({"max_chats": 0}, 422, "invalid_request"),
    ({"markets": ["U"]}, 422, "invalid_request"),
    ({"shifts": []}, 422, "invalid_request"),
]


async def test_schedule_validation_errors(
    rest_server: RunningServer, rest_http: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rest_server, rest_http)
    path = f"/api/v1/agents/{tenant.agent.id}/schedule"
    for body, status, code in SCHEDULE_ERRORS:
        response = await rest_http.put(path, json=body, headers=tenant.admin.headers)
        await error(response, status, code)
    # Nothing was stored.
    view = await rest_http.get(path, headers=tenant.admin.headers)
    assert view.json()["schedule"] is None and view.json()["timezone"] == "UTC"
    assert view.json()["languages"] == [] and view.json()["max_chats"] == 3
    # Agents may not set schedules, not even their own.
    await error(
        await rest_http.put(path, json={"max_chats": 2}, headers=tenant.agent.headers),
        403,
        "admin_required",
    )


async def test_markets_crud_and_validation(
    rest_server: RunningServer, rest_http: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rest_server, rest_http)
    http, admin = rest_http, tenant.admin.headers
    body = {
        "code": "sa",
        "tz": "Asia/Riyadh",
        "languages": ["ar", "en"],
        "weekend": ["friday", "saturday"],
        "business_hours": {"opens": "09:00", "closes": "21:00"},
        "calendar": {"country": "SA"},
        "first_reply_target_minutes": 10,
    }
    made = await http.post("/api/v1/markets", json=body, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json() == {
        "code": "SA",
        "tz": "Asia/Riyadh",
        "languages": ["ar", "en"],
        "weekend": ["friday", "saturday"],
        "business_hours": {"opens": "09:00", "closes": "21:00"},
        "calendar": {
            "country": "SA",
            "subdiv": None,
            "weekend": None,
            "extra_holidays": [],
            "extra_working_days": [],
        },
        "first_reply_target_minutes": 10,
    }
    await error(await http.post("/api/v1/markets", json=body, headers=admin), 409, "market_exists")
    listed = await http.get("/api/v1/markets", headers=tenant.agent.headers)
    assert [m["code"] for m in listed.json()["markets"]] == ["SA"]
    assert (await http.get("/api/v1/markets/sa", headers=tenant.agent.headers)).json()["tz"] == (
        "Asia/Riyadh"
    )

    bad = [
        ({**body, "code": "XY", "tz": "Nowhere/City"}, 400, "unknown_time_zone"),
        ({**body, "code": "XY", "weekend": ["caturday"]}, 400, "invalid_schedule"),
        (
            {**body, "code": "XY", "business_hours": {"opens": "9am", "closes": "17:00"}},
            400,
            "invalid_schedule",
        ),
        ({**body, "code": "XY", "calendar": {"country": "ZZ"}}, 400, "unknown_calendar"),
        ({**body, "code": "XY", "languages": []}, 422, "invalid_request"),
        ({k: v for k, v in body.items() if k != "code"}, 400, "invalid_schedule"),
        ({**body, "code": "X"}, 422, "invalid_request"),
    ]
    for market, status, code in bad:
        await error(await http.post("/api/v1/markets", json=market, headers=admin), status, code)
    await error(
        await http.post(
            "/api/v1/markets", json={**body, "code": "XY"}, headers=tenant.agent.headers
        ),
        403,
        "admin_required",
    )

    # Replace: the path names the market; a different code in the body is refused.
    replaced = await http.put(
        "/api/v1/markets/SA", json={"tz": "Asia/Riyadh", "languages": ["ar"]}, headers=admin
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["business_hours"] is None and replaced.json()["languages"] == ["ar"]
    await error(
        await http.put("/api/v1/markets/SA", json={**body, "code": "AE"}, headers=admin),
        400,
        "invalid_schedule",
    )
    await error(
        await http.put(
            "/api/v1/markets/AE", json={"tz": "Asia/Dubai", "languages": ["ar"]}, headers=admin
        ),
        404,
        "market_not_found",
    )
    deleted = await http.delete("/api/v1/markets/SA", headers=admin)
    assert deleted.status_code == 204
    await error(await http.get("/api/v1/markets/SA", headers=admin), 404, "market_not_found")
    await error(
        await http.get("/api/v1/availability", params={"market": "SA"}, headers=admin),
        404,
        "market_not_found",
    )


async def test_calendars(rest_server: RunningServer, rest_http: httpx.AsyncClient) -> None:
    tenant = await routed_tenant(rest_server, rest_http)
    china = await rest_http.get("/api/v1/calendars/cn/2026", headers=tenant.agent.headers)
    assert china.status_code == 200, china.text
    data = china.json()
    assert data["country"] == "CN" and data["weekend"] == ["saturday", "sunday"]
    assert data["adjusted_working_days"] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    holidays = {h["date"]: h["name"] for h in data["holidays"]}
    assert "Spring Festival" in holidays["2026-02-17"]
    assert "2026-02-20" in holidays  # a weekday off, paid back on Saturday 2026-02-14
    saudi = await rest_http.get("/api/v1/calendars/SA/2026", headers=tenant.agent.headers)
    assert saudi.json()["weekend"] == ["friday", "saturday"]
    await error(
        await rest_http.get("/api/v1/calendars/XX/2026", headers=tenant.agent.headers),
        400,
        "unknown_calendar",
    )
    bad_year = await rest_http.get("/api/v1/calendars/CN/1800", headers=tenant.agent.headers)
    await error(bad_year, 422, "invalid_request")


async def test_widget_session_keeps_zone_and_market(
    rest_server: RunningServer, rest_http: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rest_server, rest_http)
    shopper = {"widget_key": tenant.widget_key, "timezone": "America/Sao_Paulo", "market": "br"}
    made = await rest_http.post(
        "/api/v1/widget/sessions", json=shopper, headers={"Origin": tenant.origin}
    )
    assert made.status_code == 200, made.text
    visitor = made.json()["visitor"]
    assert visitor["timezone"] == "America/Sao_Paulo" and visitor["market"] == "BR"
    # A later session moves them (a trip); a session without the fields keeps them.
    again = await rest_http.post(
        "/api/v1/widget/sessions",
        json={**shopper, "timezone": "Europe/Lisbon", "visitor_token": made.json()["token"]},
        headers={"Origin": tenant.origin},
    )
    assert again.json()["visitor"]["id"] == visitor["id"]
    assert again.json()["visitor"]["timezone"] == "Europe/Lisbon"
    same = await rest_http.post(
        "/api/v1/widget/sessions",
        json={"widget_key": tenant.widget_key, "visitor_token": made.json()["token"]},
        headers={"Origin": tenant.origin},
    )
    assert same.json()["visitor"]["timezone"] == "Europe/Lisbon"
    assert same.json()["visitor"]["market"] == "BR"
    await error(
        await rest_http.post(
            "/api/v1/widget/sessions",
            json={**shopper, "timezone": "Moon/Tranquility_Base"},
            headers={"Origin": tenant.origin},
        ),
        400,
        "unknown_time_zone",
    )
    await error(
        await rest_http.post(
            "/api/v1/widget/sessions",
            json={**shopper, "market": "not a market"},
            headers={"Origin": tenant.origin},
        ),
        422,
        "invalid_request",
    )
