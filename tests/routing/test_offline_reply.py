"""With nobody suitable on shift, the shopper is told when to expect a reply, in their own
zone and language, once; agents coming on shift take the queue without any event.

The routing clock is set to chosen instants (a Saturday, China's adjusted working day,
the Spring Festival, both sides of a US clock change); it runs on from there in real time.
Agents use the demo store's profiles (Shanghai, China's calendar).
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from server.routing import AUTO_REPLY, auto_reply_text
from tests.harness import RunningServer
from tests.routing.support import (
    CHEN_JING,
    LI_WEI,
    assignment,
    close_all,
    demo_markets,
    demo_profile,
    events,
    online,
    profile,
    queue_status,
    routed_tenant,
    set_clock,
    shopper_writes,
    summary,
    system_messages,
    system_reply,
    utc,
)


async def test_saturday_auto_reply_in_shopper_time_then_assigned_when_the_shift_starts(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    await profile(tenant, tenant.agent, **demo_profile(LI_WEI))
    clock = set_clock(rserver, utc(2026, 2, 7, 3))  # Saturday 11:00 in Shanghai
    console = await online(rserver, tenant.agent)  # online, but off shift

    shopper, ws = await shopper_writes(
        rserver, tenant, "Is the tea set in stock?", language="en", timezone="Australia/Perth"
    )
    cid = shopper.conversation_id
    status = await queue_status(ws, cid)
    assert status["position"] == 1
    assert status["available_now"] is False
    assert status["eta"] == "2026-02-09T01:00:00Z"  # Monday 09:00 in Shanghai
    message = await system_reply(ws, cid)
    assert message["author"]["type"] == "system"
    # Li Wei starts at 09:00 Shanghai = 01:00 UTC = 09:00 in Perth, on Monday.
    assert "on Monday 09:00 your time" in message["text"]
    assert "email" in message["text"]

    # More messages while queued: still ONE auto-reply, the same queue place.
    ack = await ws.send_message(cid, "Hello?", "second")
    assert ack["type"] == "message.ack"
    await ws.quiet(0.6)
    assert len(system_messages(await events(tenant, cid))) == 1
    assert (await summary(tenant, cid))["assignee"] is None

    # Monday morning: the sweep finds Li Wei on shift and gives the conversation to him.
    mark = len(ws.frames)
    clock.jump(utc(2026, 2, 9, 1, 0))
    frame = await assignment(ws, cid, since=mark)
    assert frame["assignee_id"] == tenant.agent.id
    assert frame["by"]["type"] == "system"
    await close_all(console, ws)


async def test_china_working_saturday_assigns_and_spring_festival_replies_with_date(
    rserver: RunningServer, rhttp: httpx.AsyncClient
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    await profile(tenant, tenant.agent, **demo_profile(LI_WEI))
    console = await online(rserver, tenant.agent)

    # Saturday 2026-02-14 is a working day in China (调休): Li Wei works, and takes it.
    set_clock(rserver, utc(2026, 2, 14, 3))
    shopper, ws = await shopper_writes(rserver, tenant, "你好", language="zh")
    frame = await assignment(ws, shopper.conversation_id)
    assert frame["assignee_id"] == tenant.agent.id
    assert system_messages(await events(tenant, shopper.conversation_id)) == []

    # Tuesday 2026-02-17, the Spring Festival: nobody until Tuesday 2026-02-24 09:00
    # (Shanghai = Singapore), seven days ahead, so the date is spelled out.
    set_clock(rserver, utc(2026, 2, 17, 4))
    holiday, ws2 = await shopper_writes(
        rserver, tenant, "请问什么时候发货？", language="zh-CN", timezone="Asia/Singapore"
    )
    reply = await system_reply(ws2, holiday.conversation_id)
    assert "您当地时间星期二 2026-02-24 09:00" in reply["text"]
    status = await queue_status(ws2, holiday.conversation_id)
    assert status["eta"] == "2026-02-24T01:00:00Z"
    await close_all(console, ws, ws2)


@pytest.mark.parametrize(
    ("now", "expected", "eta"),
    [
        # Sunday before the US clocks change: Monday 21:00 Shanghai is 08:00 EST.
        (utc(2026, 3, 1, 15), "lunes 08:00 (tu hora local)", "2026-03-02T13:00:00Z"),
        # Sunday after they changed (2026-03-08): the same shift is 09:00 EDT.
        (utc(2026, 3, 8, 15), "lunes 09:00 (tu hora local)", "2026-03-09T13:00:00Z"),
    ],
)
async def test_eta_follows_the_shopper_zone_across_dst(
    rserver: RunningServer,
    rhttp: httpx.AsyncClient,
    now: datetime,
    expected: str,
    eta: str,
) -> None:
    tenant = await routed_tenant(rserver, rhttp)
    await demo_markets(tenant)
    await profile(tenant, tenant.agent, **demo_profile(CHEN_JING))  # the night shift, es
    set_clock(rserver, now)
    shopper, ws = await shopper_writes(
        rserver, tenant, "¿Tienen envío gratis?", language="es", market="US"
    )
    reply = await system_reply(ws, shopper.conversation_id)
    # No zone from the widget: the market's (America/New_York) is the shopper's.
    assert expected in reply["text"]
    assert reply["text"].startswith("¡Gracias")
    assert (await queue_status(ws, shopper.conversation_id))["eta"] == eta
    await close_all(ws)


def test_auto_reply_text_in_every_language() -> None:
    eta, now = utc(2026, 3, 9, 13), utc(2026, 3, 7, 15)
    texts = {lang: auto_reply_text(lang, eta, "America/New_York", now) for lang in AUTO_REPLY}
    assert set(texts) >= {"en", "zh", "es", "de", "ar", "pt", "ja"}
    assert texts["en"] == (
        "Thanks for your message! Our team is offline right now. We expect to reply on "
        "Monday 09:00 your time. You can leave your email address here and we will answer "
        "you by email too."
    )
    expected_day = {
        "zh": "星期一 09:00",
        "es": "lunes 09:00",
        "de": "Montag 09:00",
        "ar": "الاثنين 09:00",
        "pt": "segunda-feira 09:00",
        "ja": "月曜日 09:00",
        "fr": "lundi 09:00",
    }
    for lang, day in expected_day.items():
        assert day in texts[lang], (lang, texts[lang])
        assert texts[lang] != texts["en"]
    # Unknown languages read English; an unknown zone gives UTC and says so.
    assert auto_reply_text("ko", eta, "America/New_York", now) == texts["en"]
    assert "Monday 13:00 UTC" in auto_reply_text("en-GB", eta, None, now)
    assert "Monday 13:00 UTC" in auto_reply_text("en", eta, "Mars/Olympus", now)
    # Nobody within the horizon: no time at all, still the offer to answer by email.
    assert "as soon as possible" in auto_reply_text("en", None, "Europe/Berlin", now)
