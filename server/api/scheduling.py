"""Scheduling over REST: agents' schedules and time off, markets, calendars, availability,
coverage, the queue, and the tenant's routing switch.

Bodies use the JSON forms of `server.scheduling` (`Schedule.to_dict`, `Market.to_dict`).
Shapes are checked by pydantic (422 `invalid_request`); meaning by the scheduling core,
whose errors keep their stable codes (400 `invalid_schedule`, `unknown_time_zone`,
`unknown_calendar`). Everything is the caller's tenant only; another tenant's agent or
market is `agent_not_found` / `market_not_found`, like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.deps import CurrentAdmin, CurrentAgent, CurrentPrincipal, RuntimeDep
from server.auth import Principal
from server.errors import Conflict, NotFound
from server.protocol import iso
from server.routing import (
    RoutingPolicy,
    RoutingService,
    is_online,
    language_of,
    load_markets,
    load_profiles,
    profile_of,
    schedule_of,
)
from server.runtime import Runtime
from server.scheduling.availability import availability, coverage
from server.scheduling.calendars import (
    DayKind,
    HolidayCalendar,
    day_kind,
    holiday_name,
    weekend_to_json,
)
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import as_utc, zone
from server.scheduling.markets import Market
from server.scheduling.shifts import Schedule, TimeOff, expand, on_shift
from server.store.models import Agent, Tenant
from server.store.models import Market as MarketRow

router = APIRouter(prefix="/api/v1", tags=["scheduling"])

MarketCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,8}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")]
UPCOMING = timedelta(days=7)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScheduleUpdate(_Body):
    """Fields given replace the stored ones; `schedule: null` means on shift whenever
    online. A schedule without `tz` takes the agent's `timezone`."""

    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    languages: list[Language] | None = Field(default=None, max_length=20)
    markets: list[MarketCode] | None = Field(default=None, max_length=50)
    max_chats: int | None = Field(default=None, ge=1, le=100)
    schedule: dict[str, Any] | None = None


class TimeOffBody(_Body):
    start: str = Field(min_length=1, max_length=40)
    end: str = Field(min_length=1, max_length=40)
    basis: str = Field(default="utc", max_length=8)
    note: str = Field(default="", max_length=200)


class HoursBody(_Body):
    opens: str = Field(max_length=5)
    closes: str = Field(max_length=5)


class MarketBody(_Body):
    """A market as `Market.to_dict` writes it; `code` comes from the path on PUT."""

    code: MarketCode | None = None
    tz: str = Field(min_length=1, max_length=64)
    languages: list[Language] = Field(min_length=1, max_length=20)
    weekend: list[str] | None = Field(default=None, max_length=7)
    business_hours: HoursBody | None = None
    calendar: dict[str, Any] | None = None
    first_reply_target_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class RoutingUpdate(_Body):
    enabled: bool | None = None
    fallback_to_language: bool | None = None
    default_market: MarketCode | None = None


def routing_service(request: Request) -> RoutingService:
    service: RoutingService = request.app.state.routing
    return service


def _invalid(what: str, exc: Exception) -> SchedulingError:
    detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    return SchedulingError(f"{what} is not valid: {detail}")


def parse_schedule(data: dict[str, Any], default_tz: str) -> Schedule:
    try:
        return Schedule.from_dict({"tz": default_tz, **data})
    except SchedulingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _invalid("the schedule", exc) from None


def parse_market(data: dict[str, Any]) -> Market:
    try:
        return Market.from_dict(data)
    except SchedulingError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _invalid("the market", exc) from None


async def _agent_row(runtime: Runtime, caller: Principal, agent_id: str) -> Agent:
    async with runtime.db.read() as session:
        row = await session.get(Agent, agent_id)
    if row is None or row.tenant_id != caller.tenant_id:
        raise NotFound("no such agent", "agent_not_found")
    return row


def schedule_view(row: Agent, now: datetime, online: bool) -> dict[str, Any]:
    """An agent's routing profile, schedule, and their shifts of the next seven days."""
    schedule = schedule_of(row, online)
    tz = zone(schedule.tz)
    upcoming = (
        []
        if row.schedule is None
        else [
            {
                **interval.to_dict(),
                "local_start": interval.start.astimezone(tz).isoformat(),
                "local_end": interval.end.astimezone(tz).isoformat(),
            }
            for interval in expand(schedule, now, now + UPCOMING)
        ]
    )
    return {
        "agent_id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "languages": list(row.languages),
        "language": row.language,
        "markets": list(row.markets),
        "max_chats": row.max_chats,
        "schedule": row.schedule,
        "always_on_shift": row.schedule is None,
        "online": online,
        "on_shift_now": on_shift(schedule, now),
        "at": iso(now),
        "upcoming": upcoming,
    }


async def _view(runtime: Runtime, request: Request, row: Agent) -> dict[str, Any]:
    connected = await runtime.presence.connected_agents(row.tenant_id)
    return schedule_view(row, routing_service(request).now(), is_online(row, connected))


# Schedules and time off


@router.get("/agents/{agent_id}/schedule")
async def get_schedule(
    agent_id: str, request: Request, agent: CurrentAgent, runtime: RuntimeDep
) -> dict[str, Any]:
    """An agent's schedule (admins: anyone in the tenant; agents: their own, or `me`)."""
    if agent_id == "me":
        agent_id = agent.id
    if agent_id != agent.id:
        agent.require_admin()
    row = await _agent_row(runtime, agent, agent_id)
    return await _view(runtime, request, row)


@router.put("/agents/{agent_id}/schedule")
async def put_schedule(
    agent_id: str,
    body: ScheduleUpdate,
    request: Request,
    admin: CurrentAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Set an agent's zone, languages, markets, capacity and schedule (admins)."""
    given = body.model_fields_set
    row = await _agent_row(runtime, admin, agent_id)
    timezone = body.timezone or row.timezone or "UTC"
    if body.timezone is not None:
        zone(body.timezone)
    stored: dict[str, Any] | None = row.schedule
    if "schedule" in given:
        if body.schedule is None:
            stored = None
        else:
            schedule = parse_schedule(body.schedule, timezone)
            if body.timezone is not None and schedule.tz != body.timezone:
                raise SchedulingError(
                    f"the schedule's tz {schedule.tz!r} differs from timezone {body.timezone!r}"
                )
            timezone = schedule.tz
            stored = schedule.to_dict()
    elif body.timezone is not None and stored is not None:
        stored = parse_schedule({**stored, "tz": body.timezone}, body.timezone).to_dict()
    async with runtime.db.write() as session:
        fresh = await session.get(Agent, agent_id)
        if fresh is None or fresh.tenant_id != admin.tenant_id:
            raise NotFound("no such agent", "agent_not_found")
        fresh.timezone = timezone
        fresh.schedule = stored
        if body.languages is not None:
            fresh.languages = [language_of(x) for x in body.languages]
        if body.markets is not None:
            fresh.markets = sorted({m.upper() for m in body.markets})
        if body.max_chats is not None:
            fresh.max_chats = body.max_chats
        profile_of(fresh)  # the whole profile must read back
    service = routing_service(request)
    runtime.hooks.spawn(service.drain(admin.tenant_id), "drain after schedule change")
    return await _view(runtime, request, fresh)


async def _change_time_off(runtime: Runtime, admin: Principal, agent_id: str, change: Any) -> Agent:
    async with runtime.db.write() as session:
        row = await session.get(Agent, agent_id)
        if row is None or row.tenant_id != admin.tenant_id:
            raise NotFound("no such agent", "agent_not_found")
        if row.schedule is None:
            raise SchedulingError(
                "this agent has no schedule (on shift whenever online); set one first"
            )
        data = dict(row.schedule)
        data["time_off"] = change(list(data.get("time_off", [])))
        row.schedule = parse_schedule(data, row.timezone).to_dict()
    return row


@router.post("/agents/{agent_id}/time-off", status_code=201)
async def add_time_off(
    agent_id: str,
    body: TimeOffBody,
    request: Request,
    admin: CurrentAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Add time off: UTC instants (`basis: utc`, with a zone) or local wall-clock
    (`basis: local`, naive, in the agent's zone)."""
    try:
        entry = TimeOff.from_dict(body.model_dump()).to_dict()
    except SchedulingError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise _invalid("the time off", exc) from None
    row = await _change_time_off(runtime, admin, agent_id, lambda entries: [*entries, entry])
    return await _view(runtime, request, row)


@router.delete("/agents/{agent_id}/time-off/{index}")
async def delete_time_off(
    agent_id: str,
    index: Annotated[int, Path(ge=0, le=10_000)],
    request: Request,
    admin: CurrentAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    """Remove the time-off entry at `index` (as listed in `schedule.time_off`)."""

    def remove(entries: list[Any]) -> list[Any]:
        if index >= len(entries):
            raise NotFound(f"no time-off entry {index}", "time_off_not_found")
        return entries[:index] + entries[index + 1 :]

    row = await _change_time_off(runtime, admin, agent_id, remove)
    return await _view(runtime, request, row)


# Markets


def market_view(market: Market) -> dict[str, Any]:
    return market.to_dict()


@router.get("/markets")
async def list_markets(agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.read() as session:
        markets = await load_markets(session, agent.tenant_id)
    return {"markets": [market_view(m) for _, m in sorted(markets.items())]}


async def _market_row(session: AsyncSession, tenant_id: str, code: str) -> MarketRow:
    """The tenant's market `code` (any case), or 404 `market_not_found`."""
    row = await session.scalar(
        select(MarketRow).where(MarketRow.tenant_id == tenant_id, MarketRow.code == code.upper())
    )
    if row is None:
        raise NotFound(f"no market {code.upper()!r}", "market_not_found")
    return row


@router.get("/markets/{code}")
async def get_market(code: str, agent: CurrentAgent, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.read() as session:
        row = await _market_row(session, agent.tenant_id, code)
    return market_view(parse_market(row.definition))


@router.post("/markets", status_code=201)
async def create_market(
    body: MarketBody, admin: CurrentAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    if body.code is None:
        raise SchedulingError("a new market needs a code, e.g. 'US'")
    market = parse_market(body.model_dump(exclude_none=True))
    try:
        async with runtime.db.write() as session:
            session.add(
                MarketRow(tenant_id=admin.tenant_id, code=market.code, definition=market.to_dict())
            )
    except IntegrityError:
        raise Conflict(f"market {market.code} exists", "market_exists") from None
    return market_view(market)


@router.put("/markets/{code}")
async def replace_market(
    code: Annotated[str, Path(pattern=r"^[A-Za-z]{2,8}$")],
    body: MarketBody,
    request: Request,
    admin: CurrentAdmin,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    if body.code is not None and body.code.upper() != code.upper():
        raise SchedulingError(f"the body's code {body.code!r} differs from the path's {code!r}")
    market = parse_market({**body.model_dump(exclude_none=True), "code": code.upper()})
    async with runtime.db.write() as session:
        row = await _market_row(session, admin.tenant_id, market.code)
        row.definition = market.to_dict()
    runtime.hooks.spawn(routing_service(request).drain(admin.tenant_id), "drain after market")
    return market_view(market)


@router.delete("/markets/{code}", status_code=204)
async def delete_market(code: str, admin: CurrentAdmin, runtime: RuntimeDep) -> Response:
    async with runtime.db.write() as session:
        await session.delete(await _market_row(session, admin.tenant_id, code))
    return Response(status_code=204)


# Calendars


@router.get("/calendars/{country}/{year}")
async def get_calendar(
    country: Annotated[str, Path(pattern=r"^[A-Za-z]{2,3}$")],
    year: Annotated[int, Path(ge=1950, le=2100)],
    agent: CurrentAgent,
    subdiv: Annotated[str | None, Query(max_length=10)] = None,
) -> dict[str, Any]:
    """A country's public holidays and adjusted working days (China's 调休) in a year,
    as python-holidays knows them; manual entries go into schedules' and markets'
    calendars."""
    calendar = HolidayCalendar(country, subdiv)
    holidays, adjusted = [], []
    day = date(year, 1, 1)
    while day.year == year:
        kind = day_kind(calendar, day)
        if kind is DayKind.HOLIDAY:
            holidays.append({"date": day.isoformat(), "name": holiday_name(calendar, day)})
        elif kind is DayKind.ADJUSTED_WORKDAY:
            adjusted.append(day.isoformat())
        day += timedelta(days=1)
    return {
        "country": calendar.country,
        "subdiv": calendar.subdiv,
        "year": year,
        "weekend": weekend_to_json(calendar.weekend_days),
        "holidays": holidays,
        "adjusted_working_days": adjusted,
    }


# Availability, coverage, queue


def _instant(at: datetime | None, fallback: datetime) -> datetime:
    if at is None:
        return fallback
    return as_utc(at if at.tzinfo is not None else at.replace(tzinfo=UTC))


@router.get("/availability")
async def get_availability(
    request: Request,
    principal: CurrentPrincipal,
    runtime: RuntimeDep,
    market: Annotated[str, Query(pattern=r"^[A-Za-z]{2,8}$")],
    language: Annotated[str | None, Query(max_length=35)] = None,
    at: Annotated[datetime | None, Query(description="ISO 8601; default now")] = None,
    fallback: Annotated[
        bool | None, Query(description="count agents who speak the language only")
    ] = None,
) -> dict[str, Any]:
    """Whether `market` and `language` are served at `at`, and if not, from when:
    `{available_now, next_available_at (UTC), next_available_local (market zone),
    agents_on_shift}`. Agents and shoppers (for a "we reply at…" line) may ask.

    Agents without a schedule (on shift whenever online) count only for `at` = now,
    while online; at a given instant only schedules count."""
    connected = (
        set() if at is not None else await runtime.presence.connected_agents(principal.tenant_id)
    )
    async with runtime.db.read() as session:
        markets = await load_markets(session, principal.tenant_id)
        _rows, profiles = await load_profiles(session, principal.tenant_id, connected)
    found = markets.get(market.upper())
    if found is None:
        raise NotFound(f"no market {market.upper()!r}", "market_not_found")
    if fallback is None:
        policy = await routing_service(request).policy(principal.tenant_id)
        fallback = policy.fallback_to_language
    instant = _instant(at, routing_service(request).now())
    report = availability(
        list(profiles.values()),
        found,
        language_of(language, found.languages[0]),
        instant,
        fallback_to_language=fallback,
    )
    answer = report.to_dict()
    answer["tz"] = found.tz
    answer["agents"] = [
        {"id": agent_id, "name": profiles[agent_id].name} for agent_id in report.agents_on_shift
    ]
    return answer


@router.get("/coverage")
async def get_coverage(
    request: Request,
    agent: CurrentAgent,
    runtime: RuntimeDep,
    market: Annotated[str, Query(pattern=r"^[A-Za-z]{2,8}$")],
    week: Annotated[date | None, Query(description="first local date; default this Monday")] = None,
    language: Annotated[str | None, Query(max_length=35)] = None,
) -> dict[str, Any]:
    """A week of a market in 30-minute slots of its local time, and the gaps in cover.
    Only scheduled agents count (an unscheduled one works whenever online: no plan)."""
    async with runtime.db.read() as session:
        markets = await load_markets(session, agent.tenant_id)
        _rows, profiles = await load_profiles(session, agent.tenant_id)
    found = markets.get(market.upper())
    if found is None:
        raise NotFound(f"no market {market.upper()!r}", "market_not_found")
    if week is None:
        today = routing_service(request).now().astimezone(found.zone).date()
        week = today - timedelta(days=today.weekday())
    report = coverage(
        list(profiles.values()), found, week, language=language_of(language) if language else None
    )
    answer = report.to_dict()
    answer["agents"] = {
        agent_id: profile.name
        for agent_id, profile in profiles.items()
        if any(agent_id in s.agent_ids or agent_id in s.partial_agent_ids for s in report.slots)
    }
    return answer


@router.get("/queue")
async def get_queue(request: Request, agent: CurrentAgent) -> dict[str, Any]:
    """Queued conversations oldest first with positions, and every agent's state now
    (online, on shift, load, capacity)."""
    return await routing_service(request).queue_view(agent.tenant_id)


# The tenant's routing switch


@router.get("/routing")
async def get_routing(request: Request, agent: CurrentAgent) -> dict[str, Any]:
    return (await routing_service(request).policy(agent.tenant_id)).to_dict()


@router.put("/routing")
async def put_routing(
    body: RoutingUpdate, request: Request, admin: CurrentAdmin, runtime: RuntimeDep
) -> dict[str, Any]:
    """Turn automatic routing on or off for the tenant (off: manual assignment only)."""
    async with runtime.db.write() as session:
        tenant = await session.get(Tenant, admin.tenant_id)
        if tenant is None:
            raise NotFound("no such tenant", "tenant_not_found")
        current = RoutingPolicy.from_settings(tenant.settings).to_dict()
        for key in body.model_fields_set:
            value = getattr(body, key)
            current[key] = value.upper() if key == "default_market" and value else value
        tenant.settings = {**tenant.settings, "routing": current}
        policy = RoutingPolicy.from_settings(tenant.settings)
    runtime.tenant_settings.forget(admin.tenant_id)
    if policy.enabled:
        runtime.hooks.spawn(routing_service(request).drain(admin.tenant_id), "drain on enable")
    return policy.to_dict()
