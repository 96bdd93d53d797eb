"""Relay rules for `call.signal`: what may pass between the two peers of a call, and to whom.

A signal is relayed only
1. from a participant of the call (`signal_not_allowed`),
2. while the call is ACTIVE (`signal_not_allowed`: no SDP or candidate, and so no IP
   address, reaches anyone before the callee accepted),
3. from the connection the sender is bound to (`signal_not_allowed`: another tab of the
   same person holds no peer connection for this call),
4. to the OTHER participant's bound connection only; while that one is lost and within
   its grace period, `peer_interrupted` (retryable: resend after their `call.state`),
5. when its payload is sane and within bounds (below), and the sender's budget allows.

Descriptions pass in both directions at any time during ACTIVE: renegotiation (a screen
share adds a track, stopping removes it) may start from either side. The console is the
polite peer of perfect negotiation and aiortc peers can only be impolite offerers; the
relay neither knows nor cares, it passes descriptions through re-serialized.

Limits are keyword arguments of `SignalRelay`; None turns one off:
- `max_sdp_bytes=32768`: UTF-8 bytes of one SDP (measured: 3 KB for aiortc audio+video,
  10 KB for Chromium audio+video+screen) → `sdp_too_large`;
- `max_candidate_bytes=1024`: one candidate line (real ones are ~150 bytes)
  → `candidate_too_large`;
- `max_candidates_per_call=200`: candidates one participant sends in one call, ICE
  restarts included → `candidate_flood`;
- `candidate_rate=10.0` per second with `candidate_burst=50` at once, per participant per
  call → `candidate_flood` (retryable);
- `max_descriptions_per_call=100`: offers/answers one participant sends in one call
  → `description_flood`.
An SDP must start with the line `v=0`, have `o=`, `s=` and `t=` lines, and consist only
of `x=value` lines ending in CRLF or LF (`sdp_malformed`); `rollback` carries no SDP.
A candidate is `candidate:<foundation> <component> <transport> <priority> <address>
<port> typ <host|srflx|prflx|relay> [<name> <value>]...` or the empty end-of-candidates
marker, with `sdpMid` or `sdpMLineIndex` set (`candidate_malformed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signaling.errors import SignalRejected
from signaling.frames import CallSignal, IceCandidate, SessionDescription, signal_frame
from signaling.participants import Participant
from signaling.state import Call, CallState

_SDP_LINE = re.compile(r"[a-z]=[^\x00-\x08\x0a-\x1f\x7f]*")
_SDP_REQUIRED = ("o=", "s=", "t=")
_CANDIDATE = re.compile(
    r"candidate:[A-Za-z0-9+/]{1,32} [0-9]{1,5} (?i:udp|tcp|ssltcp) [0-9]{1,10}"
    r" [^\s]{1,255} [0-9]{1,5} typ (?:host|srflx|prflx|relay)"
    r"(?: [^\s]{1,64} [^\s]{1,255})*"
)
_MAX_MID_CHARS = 256
_MAX_UFRAG_CHARS = 256
_MAX_MLINE_INDEX = 65535


@dataclass(frozen=True, slots=True)
class Relayed:
    """Send `frame` to connection `session_id` of participant `to`, and to nobody else."""

    to: Participant
    session_id: str
    frame: dict[str, Any]


def _utf8_size(text: str, code: str, what: str, call_id: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise SignalRejected(f"{what} is not valid text", code, call_id=call_id) from exc


def check_sdp(sdp: str, *, call_id: str = "") -> None:
    """The basic sanity of a session description; SignalRejected(sdp_malformed) if not."""

    def malformed(why: str) -> SignalRejected:
        return SignalRejected(f"the SDP is malformed: {why}", "sdp_malformed", call_id=call_id)

    lines = sdp.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    if not lines or lines[0] != "v=0":
        raise malformed("it must start with the line v=0")
    for number, line in enumerate(lines, start=1):
        if not _SDP_LINE.fullmatch(line):
            raise malformed(f"line {number} is not of the form x=value")
    for prefix in _SDP_REQUIRED:
        if not any(line.startswith(prefix) for line in lines):
            raise malformed(f"it has no {prefix} line")


def check_description(
    description: SessionDescription, *, max_sdp_bytes: int | None = 32768, call_id: str = ""
) -> None:
    size = _utf8_size(description.sdp, "sdp_malformed", "the SDP", call_id)
    if description.type == "rollback":
        if description.sdp:
            raise SignalRejected("a rollback carries no SDP", "sdp_malformed", call_id=call_id)
        return
    if max_sdp_bytes is not None and size > max_sdp_bytes:
        raise SignalRejected(
            f"the SDP has {size} bytes; the limit is {max_sdp_bytes}",
            "sdp_too_large",
            call_id=call_id,
        )
    check_sdp(description.sdp, call_id=call_id)


def check_candidate(
    candidate: IceCandidate, *, max_candidate_bytes: int | None = 1024, call_id: str = ""
) -> None:
    def malformed(why: str) -> SignalRejected:
        return SignalRejected(
            f"the ICE candidate is malformed: {why}", "candidate_malformed", call_id=call_id
        )

    size = _utf8_size(candidate.candidate, "candidate_malformed", "the candidate", call_id)
    if max_candidate_bytes is not None and size > max_candidate_bytes:
        raise SignalRejected(
            f"the ICE candidate has {size} bytes; the limit is {max_candidate_bytes}",
            "candidate_too_large",
            call_id=call_id,
        )
    if candidate.candidate and not _CANDIDATE.fullmatch(candidate.candidate):
        raise malformed("expected candidate:<foundation> <component> <transport> ...")
    if candidate.candidate and candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        raise malformed("sdpMid or sdpMLineIndex is required")
    if candidate.sdpMid is not None and not 0 < len(candidate.sdpMid) <= _MAX_MID_CHARS:
        raise malformed("sdpMid must have 1 to 256 characters")
    index = candidate.sdpMLineIndex
    if index is not None and not 0 <= index <= _MAX_MLINE_INDEX:
        raise malformed("sdpMLineIndex is out of range")
    ufrag = candidate.usernameFragment
    if ufrag is not None and len(ufrag) > _MAX_UFRAG_CHARS:
        raise malformed("usernameFragment is too long")
    for text in (candidate.sdpMid, ufrag):
        if text is not None and any(ch.isspace() or not ch.isprintable() for ch in text):
            raise malformed("sdpMid and usernameFragment are single printable tokens")


class _Budget:
    """What one participant may still send in one call."""

    __slots__ = ("candidates", "descriptions", "stamp", "tokens")

    def __init__(self, burst: int, now: datetime) -> None:
        self.candidates = 0
        self.descriptions = 0
        self.tokens = float(burst)
        self.stamp = now


class SignalRelay:
    """Validates and routes `call.signal`; keeps per-call budgets until `forget(call_id)`."""

    def __init__(
        self,
        *,
        max_sdp_bytes: int | None = 32768,
        max_candidate_bytes: int | None = 1024,
        max_candidates_per_call: int | None = 200,
        candidate_rate: float | None = 10.0,
        candidate_burst: int = 50,
        max_descriptions_per_call: int | None = 100,
    ) -> None:
        self.max_sdp_bytes = max_sdp_bytes
        self.max_candidate_bytes = max_candidate_bytes
        self.max_candidates_per_call = max_candidates_per_call
        self.candidate_rate = candidate_rate
        self.candidate_burst = candidate_burst
        self.max_descriptions_per_call = max_descriptions_per_call
        self._budgets: dict[tuple[str, Participant], _Budget] = {}

    def relay(
        self,
        call: Call,
        sender: Participant,
        session_id: str,
        signal: CallSignal,
        now: datetime,
    ) -> Relayed:
        """Where `signal` goes, or SignalRejected with the reason; `now` feeds the buckets."""
        self._check_route(call, sender, session_id)
        receiver = call.other(sender)
        target = call.session_of(receiver)
        if target is None:
            raise SignalRejected(
                "the other side's connection is lost; resend when they are back",
                "peer_interrupted",
                call_id=call.id,
                retryable=True,
            )
        payload: SessionDescription | IceCandidate
        if signal.description is not None:
            payload = signal.description
            check_description(payload, max_sdp_bytes=self.max_sdp_bytes, call_id=call.id)
            self._spend_description(call.id, sender, now)
        else:
            assert signal.candidate is not None  # CallSignal guarantees exactly one
            payload = signal.candidate
            check_candidate(payload, max_candidate_bytes=self.max_candidate_bytes, call_id=call.id)
            self._spend_candidate(call.id, sender, now)
        return Relayed(receiver, target, signal_frame(call, sender, payload))

    def forget(self, call_id: str) -> None:
        """Drop the budgets of a call that ended."""
        for key in [key for key in self._budgets if key[0] == call_id]:
            del self._budgets[key]

    def _check_route(self, call: Call, sender: Participant, session_id: str) -> None:
        if not call.includes(sender):
            raise SignalRejected(
                "you are not a participant of this call", "signal_not_allowed", call_id=call.id
            )
        if call.state is not CallState.ACTIVE:
            raise SignalRejected(
                f"signals pass only during an active call; this call is {call.state.value}",
                "signal_not_allowed",
                call_id=call.id,
            )
        if call.session_of(sender) != session_id:
            raise SignalRejected(
                "this connection is not the one taking part in the call",
                "signal_not_allowed",
                call_id=call.id,
            )

    def _budget(self, call_id: str, sender: Participant, now: datetime) -> _Budget:
        key = (call_id, sender)
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = _Budget(self.candidate_burst, now)
        return budget

    def _spend_description(self, call_id: str, sender: Participant, now: datetime) -> None:
        budget = self._budget(call_id, sender, now)
        limit = self.max_descriptions_per_call
        if limit is not None and budget.descriptions >= limit:
            raise SignalRejected(
                f"more than {limit} session descriptions in one call",
                "description_flood",
                call_id=call_id,
            )
        budget.descriptions += 1

    def _spend_candidate(self, call_id: str, sender: Participant, now: datetime) -> None:
        budget = self._budget(call_id, sender, now)
        limit = self.max_candidates_per_call
        if limit is not None and budget.candidates >= limit:
            raise SignalRejected(
                f"more than {limit} ICE candidates in one call",
                "candidate_flood",
                call_id=call_id,
            )
        if self.candidate_rate is not None:
            elapsed = max((now - budget.stamp).total_seconds(), 0.0)
            budget.tokens = min(
                float(self.candidate_burst), budget.tokens + elapsed * self.candidate_rate
            )
            budget.stamp = max(now, budget.stamp)
            if budget.tokens < 1:
                raise SignalRejected(
                    f"ICE candidates faster than {self.candidate_rate:g} per second",
                    "candidate_flood",
                    call_id=call_id,
                    retryable=True,
                )
            budget.tokens -= 1
        budget.candidates += 1
