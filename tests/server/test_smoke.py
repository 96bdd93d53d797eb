from tests.harness import TenantFixture, WsClient


async def test_shopper_message_reaches_agent(server, tenant: TenantFixture) -> None:
    shopper = await tenant.shopper()
    agent = await WsClient.open(server, tenant.agent.token)
    ws = await WsClient.open(server, shopper.token)
    ack = await ws.send_message(shopper.conversation_id, "hi", "c1")
    assert ack["type"] == "message.ack" and ack["seq"] == 1
    new = await agent.expect("message.new", conversation_id=shopper.conversation_id)
    assert new["message"]["text"] == "hi"
    await ws.close()
    await agent.close()
