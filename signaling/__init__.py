"""Call signaling: who may call whom, what state a call is in, and what may pass between peers.

The one idea: a call between the two participants of a conversation (the shopper and the
assigned agent) is a checked state machine driven by the caller of this package, with no
I/O, no clock and no event loop. Media never passes through Kefu: the gateway relays
offers, answers and ICE candidates between two browsers (or aiortc peers) and asks this
package whether each step is allowed. It must never import `server`.

- `errors`: the one exception tree; every refusal carries a stable `code`.
- `participants`: `Participant` (kind, id), the conversation's parties, who the callee is.
- `state`: `Call`, `CallState`, `EndReason`, `Media`: transitions, deadlines, duration.
- `registry`: `CallRegistry`, the live calls of one node, indexed by id, participant,
  conversation and bound connection; enforces `busy`.
- `relay`: `SignalRelay`, validation of `call.signal` payloads (SDP, ICE candidates),
  flood limits, and who receives a relayed signal.
- `ice`: `IceConfig` and the `iceServers` list with coturn's ephemeral TURN credentials.
- `frames`: pydantic models of the client `call.*` frames and builders of the server's.
"""
