"""The bus (a doorbell between nodes) and presence, behind small interfaces.

Bus contract:
- `publish(channel, message)` delivers `message` (a JSON-able dict) to every handler
  subscribed to `channel` on every node, in publish order per publisher; it may be lost
  (a node or Redis restart). Nothing relies on it for durability: clients resume from
  the store by `seq`.
- Handlers are plain callables run on the event loop; they must not block and must not
  mutate the message.

Presence contract: counts an agent's live connections per node; an agent is connected
while any node holds one. Implementations: `memory` (one process) now; Redis (issue 6)
adds expiry so a dead node's agents drop out on their own.

Leases contract (coordination: one node at a time owns something, e.g. a tenant's calls,
see `server.call_home`): a lease is a key held by one holder (a node id) for `ttl`
seconds. `acquire` takes a free or expired key, or renews the caller's own, atomically,
and answers who holds it afterwards (the caller if it got it). `release` gives up a key
only if the caller still holds it. A holder that stops renewing loses the key when the
ttl runs out, so a dead node's leases free themselves. Implementations: `memory` (one
process: the only holder is this node) and Redis (`SET` with a `PX` expiry, by script).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

Message = dict[str, Any]
Handler = Callable[[Message], None]


class Subscription(Protocol):
    async def close(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the bus cannot be reached (for /readyz)."""
        ...

    async def publish(self, channel: str, message: Message) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> Subscription: ...


class Presence(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def connected(self, tenant_id: str, agent_id: str) -> bool:
        """Count one more connection; True if the agent was not connected before."""
        ...

    async def disconnected(self, tenant_id: str, agent_id: str) -> bool:
        """Count one connection fewer; True if that was the agent's last."""
        ...

    async def connected_agents(self, tenant_id: str) -> set[str]: ...


class Leases(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def acquire(self, key: str, holder: str, ttl: float) -> str:
        """Take `key` for `ttl` seconds if it is free or already `holder`'s (renewing it);
        the holder afterwards: `holder` when taken or renewed, else the other one."""
        ...

    async def holder(self, key: str) -> str | None:
        """Who holds `key` now; None if nobody (never taken, released or expired)."""
        ...

    async def release(self, key: str, holder: str) -> None:
        """Free `key` if `holder` still holds it; otherwise leave it alone."""
        ...
