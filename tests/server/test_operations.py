"""Operations endpoints: liveness and readiness."""

from __future__ import annotations


async def test_healthz_and_readyz(http) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "store": "ok", "bus": "ok"}
