"""Routing in the chat: each new conversation to a suitable agent on shift, or the queue.

The decisions are `server.scheduling.routing`'s (pure); this module feeds them from the
store and presence and carries them out, installed by `install(runtime)` on four hooks:

- `after_post`: a shopper's message in an open conversation that is neither assigned nor
  queued (a new one, or one the message reopened) is routed at once: to the agent
  `choose_agent` picks among those online (connected, status "online"), on shift, below
  `max_chats`, speaking the shopper's language and serving their market (then, with
  `fallback_to_language`, speaking it only), the shopper's previous agent first; else the
  conversation queues. Agents' messages mark the conversation answered.
- `on_presence`: an agent's first connection restarts their idle time and drains the queue.
- `after_change`: a close or a manual assignment frees capacity or leaves the queue; drain.
- `background`: every `routing_sweep_seconds`, for every tenant with routing on: drain the
  queue (so an agent coming ON SHIFT gets work without any event), re-offer conversations
  routing assigned that are still unanswered after `routing_reoffer_after_seconds`, and tell
  queued shoppers their new position.

What the shopper sees: an assignment is a `conversation.updated` event (`change`
"assigned", `by` the system) like a manual one. A queued shopper gets the ephemeral
`queue.status {conversation_id, position, eta, available_now}`; when nobody suitable is on
shift, ONE automatic system message per queueing, in the shopper's language, says when a
reply is expected as a day and time in the shopper's zone ("Monday 09:00 your time") and
offers to answer by email.

Gating: routing runs only for tenants whose settings say `{"routing": {"enabled": true}}`
(the demo store does). A tenant without it keeps manual assignment exactly as before: no
extra events, no queue. Row locks make concurrent routers (sweeps, nodes) safe: the
conversation row is locked and re-checked before it changes, and the chosen agent's row
is locked while their load is recounted, so nobody is assigned twice or past capacity.

Time: `RoutingService.clock` gives "now" (UTC); tests replace it to pretend it is a
Saturday or a Chinese holiday. Stored agents map to scheduling agents by `profile_of`: no
schedule means on shift whenever online; no languages means the agent's profile language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import Principal
from server.chat import Posted, append_event, status_change
from server.protocol import iso
from server.runtime import Runtime
from server.scheduling.agents import Agent as Profile
from server.scheduling.agents import primary_language
from server.scheduling.availability import Availability, availability
from server.scheduling.display import format_local
from server.scheduling.errors import SchedulingError
from server.scheduling.localtime import Weekday, as_utc, zone
from server.scheduling.markets import Market
from server.scheduling.routing import AgentState, Choice, choose_agent, reoffer_due
from server.scheduling.shifts import Schedule, WeeklyShift
from server.store.models import Agent, Conversation, Event, Tenant, Visitor
from server.store.models import Market as MarketRow

if TYPE_CHECKING:
    from server.gateway import Session

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NO_MARKET = "-"
"""The market code of a conversation without one: no agent serves it, so only the
language-only level can match."""
ALWAYS_ON_SHIFT = tuple(WeeklyShift(day, time(0), timedelta(hours=24)) for day in Weekday)


def system_now() -> datetime:
    return datetime.now(UTC)


# Stored rows as the scheduling core sees them


@dataclass(frozen=True)
class RoutingPolicy:
    """A tenant's routing settings (`tenant.settings["routing"]`)."""

    enabled: bool = False
    fallback_to_language: bool = True
    default_market: str | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RoutingPolicy:
        data = (settings or {}).get("routing")
        if not isinstance(data, dict):
            return cls()
        market = data.get("default_market")
        return cls(
            enabled=data.get("enabled") is True,
            fallback_to_language=data.get("fallback_to_language", True) is not False,
            default_market=market.upper() if isinstance(market, str) and market else None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "fallback_to_language": self.fallback_to_language,
            "default_market": self.default_market,
        }


def schedule_of(row: Agent, online: bool = False) -> Schedule:
    """The agent's schedule. None stored means on shift whenever online: around the clock
    while `online`, else never (so an unscheduled agent who is away is nobody's ETA)."""
    if row.schedule is None:
        return Schedule(row.timezone or "UTC", ALWAYS_ON_SHIFT if online else ())
    return Schedule.from_dict(row.schedule)


def is_online(row: Agent, connected: Collection[str]) -> bool:
    """Connected (any node) and chose the status "online"."""
    return row.id in connected and row.status == "online" and row.active


def profile_of(row: Agent, online: bool = False) -> Profile:
    """A stored agent as a scheduling agent (id = the stored id)."""
    languages = tuple(row.languages or ()) or (row.language or "en",)
    return Profile(
        agent_id=row.id,
        name=row.name,
        schedule=schedule_of(row, online),
        languages=languages,
        markets=tuple(row.markets or ()),
        max_chats=max(1, row.max_chats or 1),
    )


def language_of(*candidates: str | None) -> str:
    """The first usable language tag's primary subtag, else English."""
    for candidate in candidates:
        if candidate:
            try:
                return primary_language(candidate)
            except SchedulingError:
                continue
    return "en"


@dataclass
class Team:
    """A tenant's agents and markets at one instant, loaded once per decision."""

    tenant_id: str
    policy: RoutingPolicy
    now: datetime
    rows: dict[str, Agent]
    profiles: dict[str, Profile]
    markets: dict[str, Market]
    loads: dict[str, int]
    connected: set[str]
    _reports: dict[tuple[str | None, str], Availability] = field(default_factory=dict)

    def online(self, agent_id: str) -> bool:
        row = self.rows.get(agent_id)
        return row is not None and is_online(row, self.connected)

    def states(self) -> dict[str, AgentState]:
        return {
            agent_id: AgentState.for_agent(
                profile,
                self.now,
                online=self.online(agent_id),
                load=self.loads.get(agent_id, 0),
                idle_since=self.rows[agent_id].idle_since or EPOCH,
            )
            for agent_id, profile in self.profiles.items()
        }

    def market(self, code: str | None) -> Market | None:
        return self.markets.get(code.upper()) if code else None

    def fallback(self, market: str | None) -> bool:
        return self.policy.fallback_to_language or not market

    def availability(self, market: str | None, language: str) -> Availability:
        """When someone suitable is on shift for this market and language (as routing
        would match them), as of `now`."""
        key = (market, language)
        if key not in self._reports:
            known = self.market(market)
            target = known or Market(market or NO_MARKET, "UTC", (language,))
            self._reports[key] = availability(
                list(self.profiles.values()),
                target,
                language,
                self.now,
                fallback_to_language=self.fallback(market),
            )
        return self._reports[key]

    def context(
        self, conversation: Conversation, visitor: Visitor | None
    ) -> tuple[str | None, str]:
        """The market and language a conversation is routed by."""
        market = (
            conversation.market
            or (visitor.market if visitor else None)
            or self.policy.default_market
        )
        market = market.upper() if market else None
        known = self.market(market)
        language = language_of(
            visitor.language if visitor else None,
            conversation.language,
            known.languages[0] if known else None,
        )
        return market, language

    def shopper_zone(self, visitor: Visitor | None, market: str | None) -> str | None:
        if visitor is not None and visitor.timezone:
            return visitor.timezone
        known = self.market(market)
        return known.tz if known else None


async def load_profiles(
    session: AsyncSession, tenant_id: str, connected: Collection[str] = ()
) -> tuple[dict[str, Agent], dict[str, Profile]]:
    """The tenant's active agents and their profiles; `connected` (presence) decides
    whether unscheduled agents are on shift."""
    rows = {
        row.id: row
        for row in await session.scalars(
            select(Agent).where(Agent.tenant_id == tenant_id, Agent.active.is_(True))
        )
    }
    profiles = {}
    for agent_id, row in rows.items():
        try:
            profiles[agent_id] = profile_of(row, is_online(row, connected))
        except (SchedulingError, KeyError, TypeError, ValueError):
            log.warning("agent %s has an unreadable schedule; left out of routing", agent_id)
    return rows, profiles


async def load_markets(session: AsyncSession, tenant_id: str) -> dict[str, Market]:
    markets = {}
    for row in await session.scalars(select(MarketRow).where(MarketRow.tenant_id == tenant_id)):
        try:
            market = Market.from_dict(row.definition)
        except (SchedulingError, KeyError, TypeError, ValueError):
            log.warning("market %s of tenant %s is unreadable; ignored", row.code, tenant_id)
            continue
        markets[market.code] = market
    return markets


async def open_loads(session: AsyncSession, tenant_id: str) -> dict[str, int]:
    """Open conversations per assigned agent."""
    rows = await session.execute(
        select(Conversation.assignee_id, func.count())
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.status == "open",
            Conversation.assignee_id.is_not(None),
        )
        .group_by(Conversation.assignee_id)
    )
    return {agent_id: count for agent_id, count in rows.all() if agent_id is not None}


async def queued_conversations(
    session: AsyncSession, tenant_id: str
) -> list[tuple[Conversation, Visitor | None]]:
    """The tenant's queue, oldest first (ties by id), with each shopper."""
    rows = await session.execute(
        select(Conversation, Visitor)
        .outerjoin(Visitor, Visitor.id == Conversation.visitor_id)
        .where(
            Conversation.tenant_id == tenant_id,
            Conversation.queued_at.is_not(None),
            Conversation.status == "open",
            Conversation.assignee_id.is_(None),
        )
        .order_by(Conversation.queued_at, Conversation.id)
    )
    return [(conversation, visitor) for conversation, visitor in rows.all()]


# What the shopper reads while nobody is on shift

AUTO_REPLY: dict[str, dict[str, str]] = {
    "en": {
        "eta": "Thanks for your message! Our team is offline right now. We expect to reply "
        "on {when}. You can leave your email address here and we will answer you by "
        "email too.",
        "none": "Thanks for your message! Our team is offline right now and will reply as "
        "soon as possible. You can leave your email address here and we will answer you "
        "by email too.",
        "local": "{when} your time",
        "utc": "{when} UTC",
    },
    "zh": {
        "eta": "感谢您的留言！我们的客服目前不在线，预计将于{when}回复您。"
        "您可以在这里留下电子邮箱，我们也会通过邮件答复您。",
        "none": "感谢您的留言！我们的客服目前不在线，将尽快回复您。"
        "您可以在这里留下电子邮箱，我们也会通过邮件答复您。",
        "local": "您当地时间{when}",
        "utc": "UTC 时间{when}",
    },
    "es": {
        "eta": "¡Gracias por tu mensaje! Nuestro equipo no está disponible ahora. Esperamos "
        "responderte el {when}. Si quieres, déjanos aquí tu correo electrónico y también "
        "te responderemos por email.",
        "none": "¡Gracias por tu mensaje! Nuestro equipo no está disponible ahora y te "
        "responderá lo antes posible. Si quieres, déjanos aquí tu correo electrónico y "
        "también te responderemos por email.",
        "local": "{when} (tu hora local)",
        "utc": "{when} (UTC)",
    },
    "de": {
        "eta": "Danke für Ihre Nachricht! Unser Team ist gerade nicht erreichbar. Wir "
        "antworten voraussichtlich am {when}. Hinterlassen Sie gern hier Ihre "
        "E-Mail-Adresse, dann antworten wir Ihnen auch per E-Mail.",
        "none": "Danke für Ihre Nachricht! Unser Team ist gerade nicht erreichbar und "
        "antwortet so bald wie möglich. Hinterlassen Sie gern hier Ihre E-Mail-Adresse, "
        "dann antworten wir Ihnen auch per E-Mail.",
        "local": "{when} Ihrer Zeit",
        "utc": "{when} UTC",
    },
    "ar": {
        "eta": "شكرًا على رسالتك! فريقنا غير متاح حاليًا. نتوقع الرد يوم {when}. "
        "يمكنك ترك بريدك الإلكتروني هنا وسنرد عليك عبره أيضًا.",
        "none": "شكرًا على رسالتك! فريقنا غير متاح حاليًا وسنرد عليك في أقرب وقت ممكن. "
        "يمكنك ترك بريدك الإلكتروني هنا وسنرد عليك عبره أيضًا.",
        "local": "{when} بتوقيتك المحلي",
        "utc": "{when} بتوقيت UTC",
    },
    "pt": {
        "eta": "Obrigado pela sua mensagem! Nossa equipe está indisponível agora. Previsão "
        "de resposta: {when}. Se quiser, deixe seu e-mail aqui e também responderemos "
        "por e-mail.",
        "none": "Obrigado pela sua mensagem! Nossa equipe está indisponível agora e "
        "responderá assim que possível. Se quiser, deixe seu e-mail aqui e também "
        "responderemos por e-mail.",
        "local": "{when} (seu horário)",
        "utc": "{when} (UTC)",
    },
    "ja": {
        "eta": "メッセージありがとうございます。現在、担当者が不在です。{when}以降に"
        "返信いたします。メールアドレスを残していただければ、メールでもご返信します。",
        "none": "メッセージありがとうございます。現在、担当者が不在です。できるだけ早く"
        "返信いたします。メールアドレスを残していただければ、メールでもご返信します。",
        "local": "現地時間の{when}",
        "utc": "UTC の{when}",
    },
    "fr": {
        "eta": "Merci pour votre message ! Notre équipe est absente pour le moment. Nous "
        "prévoyons de vous répondre {when}. Vous pouvez laisser votre adresse e-mail ici "
        "et nous vous répondrons aussi par e-mail.",
        "none": "Merci pour votre message ! Notre équipe est absente pour le moment et "
        "vous répondra dès que possible. Vous pouvez laisser votre adresse e-mail ici et "
        "nous vous répondrons aussi par e-mail.",
        "local": "{when}, heure locale",
        "utc": "{when} (UTC)",
    },
}


def auto_reply_text(
    language: str, eta: datetime | None, shopper_zone: str | None, now: datetime
) -> str:
    """The offline reply: when to expect an answer, in the shopper's zone and language.

    Without a known zone the time is given in UTC (and says so); more than six local days
    ahead the date is added, as a weekday alone would be ambiguous.
    """
    lang = language_of(language)
    texts = AUTO_REPLY.get(lang, AUTO_REPLY["en"])
    if eta is None:
        return texts["none"]
    tz = "UTC"
    if shopper_zone:
        try:
            zone(shopper_zone)
            tz = shopper_zone
        except SchedulingError:
            shopper_zone = None
    tzinfo = zone(tz)
    days_ahead = (
        as_utc(eta).astimezone(tzinfo).date() - as_utc(now).astimezone(tzinfo).date()
    ).days
    when = format_local(eta, tz, lang, with_date=days_ahead > 6)
    phrase = texts["local" if shopper_zone else "utc"].format(when=when)
    return texts["eta"].format(when=phrase)


def queue_status_frame(
    conversation_id: str, position: int, report: Availability, now: datetime
) -> dict[str, Any]:
    """`queue.status`: the 1-based position, and when a suitable agent is next on shift
    (`eta`, UTC; null while one is on shift now, `available_now`, or none is within the
    horizon)."""
    eta = report.next_available_at
    return {
        "type": "queue.status",
        "conversation_id": conversation_id,
        "position": position,
        "available_now": report.available_now,
        "eta": iso(eta) if eta is not None and eta > now else None,
    }


# The service


@dataclass
class _Outcome:
    """What one routing transaction did, to publish after commit."""

    events: list[Event] = field(default_factory=list)
    queued: bool = False


class RoutingService:
    """Routing for one node. `clock` is the instant source (tests pretend other days)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.clock: Callable[[], datetime] = system_now
        self._locks: dict[str, asyncio.Lock] = {}
        self._sent: dict[str, dict[str, tuple[int, str | None, bool]]] = {}

    def now(self) -> datetime:
        return as_utc(self.clock())

    def _lock(self, tenant_id: str) -> asyncio.Lock:
        return self._locks.setdefault(tenant_id, asyncio.Lock())

    # Reading the world

    async def policy(self, tenant_id: str) -> RoutingPolicy:
        """The tenant's routing settings (from `runtime.tenant_settings`, kept in memory)."""
        return await self.runtime.tenant_settings.derived(
            tenant_id, "routing", RoutingPolicy.from_settings
        )

    async def team(
        self, tenant_id: str, now: datetime | None = None, policy: RoutingPolicy | None = None
    ) -> Team:
        policy = policy or await self.policy(tenant_id)
        connected = await self.runtime.presence.connected_agents(tenant_id)
        async with self.runtime.db.read() as session:
            rows, profiles = await load_profiles(session, tenant_id, connected)
            markets = await load_markets(session, tenant_id)
            loads = await open_loads(session, tenant_id)
        return Team(
            tenant_id=tenant_id,
            policy=policy,
            now=now or self.now(),
            rows=rows,
            profiles=profiles,
            markets=markets,
            loads=loads,
            connected=connected,
        )

    async def _previous_agent(
        self, session: AsyncSession, conversation: Conversation
    ) -> str | None:
        """The agent who last wrote to this shopper, else who had their latest other
        conversation."""
        wrote = await session.scalar(
            select(Event.author_id)
            .join(Conversation, Conversation.id == Event.conversation_id)
            .where(
                Conversation.visitor_id == conversation.visitor_id,
                Conversation.tenant_id == conversation.tenant_id,
                Event.type == "message",
                Event.author_type == "agent",
            )
            .order_by(Event.created_at.desc())
            .limit(1)
        )
        if wrote is not None:
            return wrote
        return await session.scalar(
            select(Conversation.assignee_id)
            .where(
                Conversation.visitor_id == conversation.visitor_id,
                Conversation.tenant_id == conversation.tenant_id,
                Conversation.id != conversation.id,
                Conversation.assignee_id.is_not(None),
            )
            .order_by(Conversation.last_activity_at.desc())
            .limit(1)
        )

    # The locked steps

    @staticmethod
    async def _locked(session: AsyncSession, conversation_id: str) -> Conversation | None:
        return await session.scalar(
            select(Conversation).where(Conversation.id == conversation_id).with_for_update()
        )

    @staticmethod
    async def _take(session: AsyncSession, agent_id: str, now: datetime) -> Agent | None:
        """Lock the agent and recount their load; the row if they can take one more."""
        row = await session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
        if row is None or not row.active or row.status != "online":
            return None
        load = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.assignee_id == agent_id, Conversation.status == "open")
        )
        if (load or 0) >= max(1, row.max_chats or 1):
            return None
        row.idle_since = now
        return row

    async def _choose_and_take(
        self,
        session: AsyncSession,
        team: Team,
        states: dict[str, AgentState],
        market: str | None,
        language: str,
        previous: str | None,
        exclude: Iterable[str] = (),
    ) -> tuple[Agent, Choice] | None:
        """Choose an agent and reserve them; `states` follows what was taken or found full."""
        excluded = set(exclude)
        while True:
            choice = choose_agent(
                states.values(),
                market or NO_MARKET,
                language,
                previous,
                fallback_to_language=team.fallback(market),
                exclude=excluded,
            )
            if choice is None:
                return None
            state = states[choice.agent_id]
            row = await self._take(session, choice.agent_id, team.now)
            if row is None:  # full or away since the snapshot: count them out
                states[choice.agent_id] = replace(state, load=state.capacity)
                excluded.add(choice.agent_id)
                continue
            states[choice.agent_id] = replace(state, load=state.load + 1, idle_since=team.now)
            return row, choice

    def _assign(
        self,
        session: AsyncSession,
        conversation: Conversation,
        agent: Agent,
        now: datetime,
        change: str = "assigned",
        **extra: Any,
    ) -> Event:
        previous = conversation.assignee_id
        conversation.assignee_id = agent.id
        conversation.queued_at = None
        conversation.assigned_at = now
        return append_event(
            session,
            conversation,
            "conversation.updated",
            None,
            status_change(
                conversation,
                change,
                assignee_name=agent.name,
                previous_assignee_id=previous,
                **extra,
            ),
        )

    async def _publish(self, tenant_id: str, visitor_id: str, outcome: _Outcome) -> None:
        if not outcome.events:
            return
        runtime = self.runtime
        await runtime.notifier.publish_events(tenant_id, visitor_id, outcome.events)
        changes = [e for e in outcome.events if e.type == "conversation.updated"]
        if changes:
            async with runtime.db.read() as session:
                conversation = await session.get(Conversation, changes[0].conversation_id)
            if conversation is not None:
                for listener in runtime.hooks.after_change:
                    runtime.hooks.spawn(
                        listener(runtime, None, conversation, changes), "after_change"
                    )

    # Routing one conversation

    async def route(
        self, tenant_id: str, conversation_id: str, *, shopper_wrote: bool, reopened: bool
    ) -> None:
        """Route a conversation a shopper wrote in: assign it, or queue it (and tell them)."""
        policy = await self.policy(tenant_id)
        if not policy.enabled:
            return
        now = self.now()
        async with self.runtime.db.read() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.status != "open":
            return
        needs_route = conversation.queued_at is None and (
            conversation.assignee_id is None or reopened
        )
        if not needs_route:
            if shopper_wrote and conversation.awaiting_reply_since is None:
                async with self.runtime.db.write() as session:
                    locked = await self._locked(session, conversation_id)
                    if locked is not None and locked.awaiting_reply_since is None:
                        locked.awaiting_reply_since = now
            return
        team = await self.team(tenant_id, now, policy)
        async with self._lock(tenant_id):
            outcome = await self._route_locked(team, conversation_id, shopper_wrote, reopened)
        await self._publish(tenant_id, conversation.visitor_id, outcome)
        if outcome.queued:
            await self.refresh_queue(tenant_id, force={conversation_id}, team=team)

    async def _route_locked(
        self, team: Team, conversation_id: str, shopper_wrote: bool, reopened: bool
    ) -> _Outcome:
        outcome = _Outcome()
        now = team.now
        states = team.states()
        async with self.runtime.db.write() as session:
            conversation = await self._locked(session, conversation_id)
            if conversation is None or conversation.status != "open":
                return outcome
            if shopper_wrote and conversation.awaiting_reply_since is None:
                conversation.awaiting_reply_since = now
            current = conversation.assignee_id
            if conversation.queued_at is not None or (current is not None and not reopened):
                return outcome  # routed meanwhile by someone else
            visitor = await session.get(Visitor, conversation.visitor_id)
            market, language = team.context(conversation, visitor)
            conversation.market = conversation.market or market
            conversation.language = conversation.language or language
            previous = current or await self._previous_agent(session, conversation)
            if current is not None and current in states:
                # Reopened: its agent keeps it if they can (their load counts it already).
                mine = states[current]
                trial = {**states, current: replace(mine, load=max(0, mine.load - 1))}
                choice = choose_agent(
                    trial.values(),
                    market or NO_MARKET,
                    language,
                    current,
                    fallback_to_language=team.fallback(market),
                )
                if choice is not None and choice.agent_id == current:
                    conversation.assigned_at = now
                    return outcome
            taken = await self._choose_and_take(
                session, team, states, market, language, previous, exclude=[current or ""]
            )
            if taken is not None:
                agent, choice = taken
                outcome.events.append(
                    self._assign(
                        session,
                        conversation,
                        agent,
                        now,
                        reason=choice.reason.value,
                        match=choice.match.value,
                    )
                )
                return outcome
            if current is not None:
                conversation.assignee_id = None
                conversation.assigned_at = None
                outcome.events.append(
                    append_event(
                        session,
                        conversation,
                        "conversation.updated",
                        None,
                        status_change(
                            conversation, "assigned", previous_assignee_id=current, reason="queued"
                        ),
                    )
                )
            conversation.queued_at = now
            outcome.queued = True
            report = team.availability(market, language)
            if not report.available_now:
                eta = report.next_available_at
                text = auto_reply_text(language, eta, team.shopper_zone(visitor, market), now)
                outcome.events.append(
                    append_event(
                        session,
                        conversation,
                        "message",
                        None,
                        {"auto_reply": True, "eta": iso(eta) if eta else None},
                        text=text,
                    )
                )
        return outcome

    async def agent_replied(self, conversation_id: str) -> None:
        async with self.runtime.db.read() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.awaiting_reply_since is None:
            return
        async with self.runtime.db.write() as session:
            locked = await self._locked(session, conversation_id)
            if locked is not None:
                locked.awaiting_reply_since = None

    # The queue

    async def drain(self, tenant_id: str) -> None:
        """Assign what the queue can give out now, oldest first; refresh positions."""
        policy = await self.policy(tenant_id)
        if not policy.enabled:
            return
        async with self._lock(tenant_id):
            team = await self.team(tenant_id, None, policy)
            async with self.runtime.db.read() as session:
                queue = await queued_conversations(session, tenant_id)
            states = team.states()
            for conversation, _visitor in queue:
                if not any(s.available for s in states.values()):
                    break
                outcome = await self._assign_queued(team, states, conversation.id)
                await self._publish(tenant_id, conversation.visitor_id, outcome)
            await self.refresh_queue(tenant_id, team=team)

    async def _assign_queued(
        self, team: Team, states: dict[str, AgentState], conversation_id: str
    ) -> _Outcome:
        outcome = _Outcome()
        async with self.runtime.db.write() as session:
            conversation = await self._locked(session, conversation_id)
            if (
                conversation is None
                or conversation.status != "open"
                or conversation.queued_at is None
                or conversation.assignee_id is not None
            ):
                return outcome
            visitor = await session.get(Visitor, conversation.visitor_id)
            market, language = team.context(conversation, visitor)
            previous = await self._previous_agent(session, conversation)
            taken = await self._choose_and_take(session, team, states, market, language, previous)
            if taken is not None:
                agent, choice = taken
                waited = (team.now - as_utc(conversation.queued_at)).total_seconds()
                outcome.events.append(
                    self._assign(
                        session,
                        conversation,
                        agent,
                        team.now,
                        reason=choice.reason.value,
                        match=choice.match.value,
                        queued_seconds=max(0, round(waited)),
                    )
                )
        return outcome

    async def refresh_queue(
        self, tenant_id: str, *, force: Iterable[str] = (), team: Team | None = None
    ) -> None:
        """Send `queue.status` to each queued shopper whose position or ETA changed."""
        team = team or await self.team(tenant_id)
        forced = set(force)
        async with self.runtime.db.read() as session:
            queue = await queued_conversations(session, tenant_id)
        sent = self._sent.setdefault(tenant_id, {})
        current = set()
        for position, (conversation, visitor) in enumerate(queue, start=1):
            current.add(conversation.id)
            market, language = team.context(conversation, visitor)
            frame = queue_status_frame(
                conversation.id, position, team.availability(market, language), team.now
            )
            key = (position, frame["eta"], frame["available_now"])
            if sent.get(conversation.id) == key and conversation.id not in forced:
                continue
            sent[conversation.id] = key
            await self.runtime.notifier.publish_ephemeral(
                tenant_id, conversation.visitor_id, conversation.id, frame
            )
        for conversation_id in set(sent) - current:
            del sent[conversation_id]

    async def queue_view(self, tenant_id: str) -> dict[str, Any]:
        """The queue oldest first with positions, and every agent's state now (REST)."""
        team = await self.team(tenant_id)
        async with self.runtime.db.read() as session:
            queue = await queued_conversations(session, tenant_id)
        items = []
        for position, (conversation, visitor) in enumerate(queue, start=1):
            market, language = team.context(conversation, visitor)
            frame = queue_status_frame(
                conversation.id, position, team.availability(market, language), team.now
            )
            queued_at = as_utc(conversation.queued_at or team.now)
            items.append(
                {
                    "position": position,
                    "conversation_id": conversation.id,
                    "queued_at": iso(queued_at),
                    "waiting_seconds": max(0, round((team.now - queued_at).total_seconds())),
                    "market": market,
                    "language": language,
                    "eta": frame["eta"],
                    "available_now": frame["available_now"],
                    "last_message_preview": conversation.last_message_preview,
                    "visitor": {
                        "id": conversation.visitor_id,
                        "name": visitor.name if visitor else None,
                        "timezone": visitor.timezone if visitor else None,
                    },
                }
            )
        states = team.states()
        agents = []
        for agent_id, row in sorted(team.rows.items(), key=lambda item: item[1].name):
            state = states.get(agent_id)
            agents.append(
                {
                    "id": agent_id,
                    "name": row.name,
                    "status": row.status,
                    "connected": agent_id in team.connected,
                    "online": team.online(agent_id),
                    "on_shift": state.on_shift if state else False,
                    "available": state.available if state else False,
                    "load": team.loads.get(agent_id, 0),
                    "max_chats": row.max_chats,
                    "languages": list(state.languages) if state else list(row.languages),
                    "markets": list(row.markets),
                    "timezone": row.timezone,
                    "scheduled": row.schedule is not None,
                }
            )
        return {
            "at": iso(team.now),
            "routing": team.policy.to_dict(),
            "queue": items,
            "agents": agents,
            "on_shift": [a["id"] for a in agents if a["on_shift"]],
        }

    # Re-offering unanswered conversations

    async def reoffer(self, tenant_id: str) -> None:
        """Give routing's assignments still unanswered after the limit to another agent."""
        limit = timedelta(seconds=self.runtime.settings.routing_reoffer_after_seconds)
        if limit <= timedelta(0):
            return
        policy = await self.policy(tenant_id)
        if not policy.enabled:
            return
        async with self._lock(tenant_id):
            team = await self.team(tenant_id, None, policy)
            async with self.runtime.db.read() as session:
                candidates = list(
                    await session.scalars(
                        select(Conversation).where(
                            Conversation.tenant_id == tenant_id,
                            Conversation.status == "open",
                            Conversation.assignee_id.is_not(None),
                            Conversation.assigned_at.is_not(None),
                            Conversation.assigned_at <= team.now - limit,
                            Conversation.awaiting_reply_since.is_not(None),
                        )
                    )
                )
            states = team.states()
            for conversation in candidates:
                outcome = await self._reoffer_one(team, states, conversation.id, limit)
                await self._publish(tenant_id, conversation.visitor_id, outcome)

    @staticmethod
    async def _answered_since_assigned(session: AsyncSession, conversation: Conversation) -> bool:
        """Whether an agent wrote after the conversation's latest assignment to its agent."""
        changes = await session.scalars(
            select(Event)
            .where(Event.conversation_id == conversation.id, Event.type == "conversation.updated")
            .order_by(Event.seq.desc())
            .limit(50)
        )
        assigned_seq = next(
            (
                e.seq
                for e in changes
                if e.data.get("change") in ("assigned", "transferred")
                and e.data.get("assignee_id") == conversation.assignee_id
            ),
            None,
        )
        if assigned_seq is None:
            return True  # not an assignment we can place: leave it alone
        replied = await session.scalar(
            select(Event.id)
            .where(
                Event.conversation_id == conversation.id,
                Event.type == "message",
                Event.author_type == "agent",
                Event.seq > assigned_seq,
            )
            .limit(1)
        )
        return replied is not None

    async def _reoffer_one(
        self, team: Team, states: dict[str, AgentState], conversation_id: str, limit: timedelta
    ) -> _Outcome:
        outcome = _Outcome()
        async with self.runtime.db.write() as session:
            conversation = await self._locked(session, conversation_id)
            if (
                conversation is None
                or conversation.status != "open"
                or conversation.assignee_id is None
                or conversation.assigned_at is None
                or conversation.awaiting_reply_since is None
            ):
                return outcome
            answered = await self._answered_since_assigned(session, conversation)
            if answered:
                conversation.awaiting_reply_since = None
                return outcome
            if not reoffer_due(conversation.assigned_at, team.now, limit, answered=False):
                return outcome
            visitor = await session.get(Visitor, conversation.visitor_id)
            market, language = team.context(conversation, visitor)
            current = conversation.assignee_id
            taken = await self._choose_and_take(
                session, team, states, market, language, None, exclude=[current]
            )
            if taken is None:
                return outcome
            agent, choice = taken
            if current in states:  # the load moves with the conversation
                state = states[current]
                states[current] = replace(state, load=max(0, state.load - 1))
            waited = (team.now - as_utc(conversation.assigned_at)).total_seconds()
            outcome.events.append(
                self._assign(
                    session,
                    conversation,
                    agent,
                    team.now,
                    "transferred",
                    reason="unanswered",
                    match=choice.match.value,
                    unanswered_seconds=round(waited),
                )
            )
        return outcome

    async def sweep(self) -> None:
        """One pass over every tenant with routing on."""
        async with self.runtime.db.read() as session:
            tenants = (await session.execute(select(Tenant.id, Tenant.settings))).all()
        for tenant_id, settings in tenants:
            if not RoutingPolicy.from_settings(settings).enabled:
                continue
            try:
                await self.reoffer(tenant_id)
                await self.drain(tenant_id)
            except Exception:
                log.exception("routing sweep failed for tenant %s", tenant_id)

    # Hooks

    async def on_post(self, runtime: Runtime, author: Principal, posted: Posted) -> None:
        conversation = posted.conversation
        if author.kind == "visitor":
            reopened = any(
                e.type == "conversation.updated" and e.data.get("change") == "reopened"
                for e in posted.new_events
            )
            await self.route(
                author.tenant_id, conversation.id, shopper_wrote=True, reopened=reopened
            )
        elif author.is_staff:
            await self.agent_replied(conversation.id)

    async def on_change(
        self,
        runtime: Runtime,
        actor: Principal | None,
        conversation: Conversation,
        events: list[Event],
    ) -> None:
        if actor is None:
            return  # routing's own changes
        policy = await self.policy(conversation.tenant_id)
        if not policy.enabled:
            return
        async with runtime.db.write() as session:
            locked = await self._locked(session, conversation.id)
            if locked is None:
                return
            if locked.status == "closed":
                locked.queued_at = None
                locked.awaiting_reply_since = None
                locked.assigned_at = None
            elif locked.assignee_id is not None:
                # A person chose the agent: out of the queue, and not re-offered.
                locked.queued_at = None
                locked.assigned_at = None
        await self.drain(conversation.tenant_id)

    async def on_presence(
        self, runtime: Runtime, tenant_id: str, agent_id: str, online: bool
    ) -> None:
        if not online:
            return
        policy = await self.policy(tenant_id)
        if not policy.enabled:
            return
        async with runtime.db.write() as session:
            row = await session.get(Agent, agent_id)
            if row is not None:
                row.idle_since = self.now()
        await self.drain(tenant_id)

    async def on_session_open(self, session: Session) -> None:
        principal = session.principal
        if principal.kind != "visitor":
            return

        async def tell() -> None:
            async with self.runtime.db.read() as db_session:
                queued = list(
                    await db_session.scalars(
                        select(Conversation.id).where(
                            Conversation.visitor_id == principal.id,
                            Conversation.tenant_id == principal.tenant_id,
                            Conversation.queued_at.is_not(None),
                            Conversation.assignee_id.is_(None),
                            Conversation.status == "open",
                        )
                    )
                )
            if queued:
                await self.refresh_queue(principal.tenant_id, force=queued)

        self.runtime.hooks.spawn(tell(), "queue status on open")

    async def sweep_loop(self) -> None:
        interval = self.runtime.settings.routing_sweep_seconds
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("routing sweep failed")


def install(runtime: Runtime) -> RoutingService:
    service = RoutingService(runtime)
    hooks = runtime.hooks
    hooks.after_post.append(service.on_post)
    hooks.after_change.append(service.on_change)
    hooks.on_presence.append(service.on_presence)
    hooks.on_session_open.append(service.on_session_open)
    hooks.background.append(service.sweep_loop)
    return service
