"""Inline translation end to end: real tiny argos models, a real server, real sockets.

The models are random-weight (their output is gibberish but real and deterministic), so
the tests check what must hold whatever the words: who gets which language, that the
original stays, that protected spans and glossary terms survive, replay, and the
no-model notice given once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import RunningServer, TenantFixture, WsClient, make_settings, new_tenant
from translation.testing import install_test_packages


@pytest.fixture(scope="module")
def translating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    data_dir: Path = tmp_path_factory.mktemp("kefu-translating")
    models = data_dir / "models"
    install_test_packages(models, [("en", "zh"), ("zh", "en")])
    settings = make_settings(
        data_dir, None, translation_enabled=True, translation_models_dir=models
    )
    running = RunningServer(settings).start()
    yield running
    running.stop()


@pytest.fixture
async def shop(translating: RunningServer) -> AsyncIterator[TenantFixture]:
    async with httpx.AsyncClient(base_url=translating.base_url, timeout=30) as http:
        tenant = await new_tenant(translating, http)
        for login in (tenant.agent, tenant.admin):
            response = await http.patch(
                f"/api/v1/agents/{login.id}", json={"language": "zh"}, headers=tenant.admin.headers
            )
            assert response.status_code == 200, response.text
        yield tenant


async def test_both_sides_read_in_their_language(translating, shop: TenantFixture) -> None:
    shopper = await shop.shopper(language="en")
    cid = shopper.conversation_id
    agent = await WsClient.open(translating, shop.agent.token)
    ws = await WsClient.open(translating, shopper.token)

    text = "Where is my order #A123-456? Track it at https://shop.example/track_it now."
    ack = await ws.send_message(cid, text, "q1")
    original = await agent.expect("message.new", seq=ack["seq"])
    assert original["message"]["text"] == text  # delivered at once, in the original
    translated = await agent.expect("message.translated", timeout=30)
    assert translated["message_seq"] == ack["seq"]
    assert translated["message_id"] == ack["message_id"]
    assert translated["source_language"] == "en"
    zh = translated["translations"]["zh"]
    assert zh["translated"] is True and zh["flags"] == []
    assert "#A123-456" in zh["text"] and "https://shop.example/track_it" in zh["text"]
    assert zh["text"] != text
    assert set(translated["translations"]) == {"zh"}  # nobody here reads anything else

    reply = await agent.send_message(cid, "您好，您的订单今天发货。请查看邮件。", "r1")
    back = await ws.expect("message.translated", timeout=30, message_seq=reply["seq"])
    assert back["source_language"] == "zh"
    assert back["translations"]["en"]["translated"] is True

    # Replay after reconnecting brings the translations with the messages, in seq order.
    await ws.close()
    again = await WsClient.open(translating, shopper.token, resume={cid: 0})
    await again.expect("synced")
    kinds = [(f["type"], f["seq"]) for f in again.frames if f.get("conversation_id") == cid]
    seqs = [seq for _, seq in kinds]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert ("message.translated", back["seq"]) in kinds
    assert ("message.translated", translated["seq"]) in kinds
    await again.close()
    await agent.close()


async def test_glossary_terms_are_kept(translating, shop: TenantFixture) -> None:
    async with httpx.AsyncClient(base_url=translating.base_url) as http:
        response = await http.put(
            "/api/v1/translation/settings",
            json={"glossary": {"keep": ["KefuPhone X"]}},
            headers=shop.admin.headers,
        )
        assert response.status_code == 200, response.text
    shopper = await shop.shopper(language="en")
    agent = await WsClient.open(translating, shop.agent.token)
    ws = await WsClient.open(translating, shopper.token)
    await ws.send_message(
        shopper.conversation_id, "Is the KefuPhone X in stock? Mail me at ann@example.com", "g"
    )
    translated = await agent.expect("message.translated", timeout=30)
    zh = translated["translations"]["zh"]["text"]
    assert "KefuPhone X" in zh and "ann@example.com" in zh
    await ws.close()
    await agent.close()


async def test_missing_model_is_said_once(translating, shop: TenantFixture) -> None:
    shopper = await shop.shopper(language="es")
    cid = shopper.conversation_id
    agent = await WsClient.open(translating, shop.agent.token)
    ws = await WsClient.open(translating, shopper.token)
    first = await ws.send_message(cid, "¿Dónde está mi pedido? Lo necesito para mañana.", "e1")
    notice = await agent.expect("message.translated", timeout=30)
    assert notice["message_seq"] == first["seq"]
    zh = notice["translations"]["zh"]
    assert zh["translated"] is False and "no_model" in zh["flags"]
    assert zh["text"] == "¿Dónde está mi pedido? Lo necesito para mañana."
    assert ["es", "en"] in zh["missing_pairs"]
    second = await ws.send_message(cid, "¿Me pueden ayudar, por favor? Gracias.", "e2")
    await agent.expect("message.new", seq=second["seq"])
    later = await agent.quiet(1.0)
    assert not [f for f in later if f["type"] == "message.translated"]
    await ws.close()
    await agent.close()


async def test_agent_previews_the_reply(translating, shop: TenantFixture) -> None:
    shopper = await shop.shopper(language="en")
    async with httpx.AsyncClient(base_url=translating.base_url) as http:
        url = f"/api/v1/conversations/{shopper.conversation_id}/translation-preview"
        response = await http.post(
            url, json={"text": "好的，马上为您处理。"}, headers=shop.agent.headers
        )
        assert response.status_code == 200, response.text
        preview = response.json()
        assert (preview["source"], preview["target"], preview["translated"]) == ("zh", "en", True)
        refused = await http.post(url, json={"text": "x"}, headers=shopper.headers)
        assert refused.status_code == 403
        status = await http.get("/api/v1/translation", headers=shop.agent.headers)
        assert ["en", "zh"] in status.json()["installed_pairs"]


async def test_shopper_changes_language(translating, shop: TenantFixture) -> None:
    shopper = await shop.shopper(language="es")
    async with httpx.AsyncClient(base_url=translating.base_url) as http:
        changed = await http.put(
            "/api/v1/widget/language", json={"language": "en"}, headers=shopper.headers
        )
        assert changed.status_code == 200
        bad = await http.put(
            "/api/v1/widget/language", json={"language": "english!"}, headers=shopper.headers
        )
        assert bad.status_code == 422
    agent = await WsClient.open(translating, shop.agent.token)
    ws = await WsClient.open(translating, shopper.token)
    reply = await agent.send_message(shopper.conversation_id, "您好，请问有什么可以帮您？", "a")
    back = await ws.expect("message.translated", timeout=30, message_seq=reply["seq"])
    assert "en" in back["translations"]
    await ws.close()
    await agent.close()
