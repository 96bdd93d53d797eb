"""The demo store (`kefu serve --demo`) comes with the issue's agents, markets and routing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from server.scheduling.demo import demo_schedule
from tests.harness import RunningServer, make_settings


async def login(http: httpx.AsyncClient, agent: dict[str, Any]) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/login", json={"email": agent["email"], "password": agent["password"]}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_demo_store_is_scheduled_and_routed(tmp_path: Path) -> None:
    server = RunningServer(make_settings(tmp_path, None, demo=True)).start()
    try:
        agents = {a["name"]: a for a in server.app.state.demo["agents"]}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            admin = await login(http, agents["Li Wei"])
            assert (await http.get("/api/v1/routing", headers=admin)).json()["enabled"] is True
            markets = (await http.get("/api/v1/markets", headers=admin)).json()["markets"]
            assert {m["code"]: m for m in markets} == {
                m.code: m.to_dict() for m in demo_schedule().markets
            }
            assert {m["code"]: m["weekend"] for m in markets}["SA"] == ["friday", "saturday"]
            team = (await http.get("/api/v1/queue", headers=admin)).json()["agents"]
            ids = {a["name"]: a["id"] for a in team}
            li = (await http.get(f"/api/v1/agents/{ids['Li Wei']}/schedule", headers=admin)).json()
            chen = (
                await http.get(f"/api/v1/agents/{ids['Chen Jing']}/schedule", headers=admin)
            ).json()
            assert (li["timezone"], li["languages"], li["markets"]) == (
                "Asia/Shanghai",
                ["zh", "en"],
                ["US", "DE", "SA"],
            )
            assert (chen["languages"], chen["markets"]) == (["zh", "en", "es", "pt"], ["US", "BR"])
            assert li["language"] == chen["language"] == "zh"  # they read Chinese
            assert li["schedule"]["calendar"]["country"] == "CN"
            assert [s["start"] for s in chen["schedule"]["weekly"]] == ["21:00"] * 5
            # Tuesday 2026-03-03 03:00 UTC: 11:00 in Shanghai, Li Wei's shift.
            answer = await http.get(
                "/api/v1/availability",
                params={"market": "US", "language": "en", "at": "2026-03-03T03:00:00Z"},
                headers=admin,
            )
            assert answer.json()["agents_on_shift"] == [ids["Li Wei"]]
            # A change made in the console survives a restart of the demo.
            changed = await http.put(
                f"/api/v1/agents/{ids['Chen Jing']}/schedule", json={"max_chats": 5}, headers=admin
            )
            assert changed.status_code == 200
    finally:
        server.stop()

    again = RunningServer(make_settings(tmp_path, None, demo=True, demo_routing=False)).start()
    try:
        async with httpx.AsyncClient(base_url=again.base_url, timeout=30) as http:
            admin = await login(http, agents["Li Wei"])
            # Routing was already chosen for this store: the setting only seeds new ones.
            assert (await http.get("/api/v1/routing", headers=admin)).json()["enabled"] is True
            team = (await http.get("/api/v1/queue", headers=admin)).json()["agents"]
            assert {a["name"]: a["max_chats"] for a in team} == {"Li Wei": 3, "Chen Jing": 5}
            markets = (await http.get("/api/v1/markets", headers=admin)).json()["markets"]
            assert len(markets) == 5
    finally:
        again.stop()
