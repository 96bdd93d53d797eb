"""Operations endpoints: liveness and readiness."""

from __future__ import annotations

import json
import logging
import os

from server.logs import JsonFormatter, connection_id
from tests.harness import WsClient


async def test_healthz_and_readyz(http) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok", "pid": os.getpid()}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "store": "ok", "bus": "ok"}


def metric(text: str, name: str) -> float:
    """The value of one sample line (`name` includes its labels), 0 if absent."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_connections_frames_and_acks(server, tenant, http) -> None:
    before = (await http.get("/metrics")).text
    shopper = await tenant.shopper()
    ws = await WsClient.open(server, shopper.token)
    await ws.send_message(shopper.conversation_id, "count me", "m1")
    await ws.send_message(shopper.conversation_id, "count me", "m1")
    await ws.send("not json")
    await ws.expect("error")
    during = (await http.get("/metrics")).text
    assert metric(during, 'kefu_connections{kind="visitor"}') >= 1
    for name, grew_by in (
        ('kefu_acks_total{duplicate="false"}', 1),
        ('kefu_acks_total{duplicate="true"}', 1),
        ('kefu_frames_in_total{type="message.send"}', 2),
        ('kefu_error_frames_total{code="invalid_json"}', 1),
    ):
        assert metric(during, name) - metric(before, name) >= grew_by, name
    assert metric(during, "kefu_frames_out_total") > metric(before, "kefu_frames_out_total")
    assert metric(during, "kefu_bus_lag_seconds_count") > metric(
        before, "kefu_bus_lag_seconds_count"
    )
    await ws.close()


async def test_request_id_is_echoed_or_made(http) -> None:
    given = await http.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert given.headers["x-request-id"] == "trace-42"
    made = await http.get("/healthz")
    assert len(made.headers["x-request-id"]) == 16


def test_json_log_lines_carry_the_ids() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "kefu.test", logging.WARNING, __file__, 1, "slow %s", ("reader",), None
    )
    record.conversation = "c1"
    token = connection_id.set("conn-9")
    try:
        line = json.loads(formatter.format(record))
    finally:
        connection_id.reset(token)
    assert line["message"] == "slow reader"
    assert line["level"] == "warning"
    assert line["connection_id"] == "conn-9"
    assert line["conversation"] == "c1"
    assert "request_id" not in line
