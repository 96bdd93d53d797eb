"""Calls over REST: the ICE servers (STUN/TURN with short-lived credentials) for the caller.

The same list comes in `welcome` and with each `call.ringing` / `call.incoming`; this route
is for a client that wants fresh credentials without reconnecting (a long-open console).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from server.api.deps import CurrentPrincipal
from server.calls import CallService, participant_of
from server.errors import Unavailable

router = APIRouter(prefix="/api/v1/calls", tags=["calls"])


@router.get("/ice-servers")
async def ice_servers(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """`iceServers` for an RTCPeerConnection: the STUN URLs, and the TURN URLs with a
    username `<unix expiry>:<kind>-<id>` and an HMAC credential (coturn's
    `use-auth-secret`); `expires_at` is when those stop working (null without TURN)."""
    calls: CallService | None = request.app.state.calls
    if calls is None:
        raise Unavailable("calls are not ready on this server", "calls_unavailable")
    return calls.ice_payload(participant_of(principal))
