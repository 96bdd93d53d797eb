"""The calls of one node: find a call by id, participant, conversation or connection; `busy`.

Contract (a Redis-backed registry, issue 6, keeps the same):
- A participant is in at most one live (ringing or active) call, so a conversation has at
  most one too. Busy rule: a participant in ANY live call is busy, a ringing incoming or
  outgoing one included: no call waiting, a second caller hears `busy` at once instead of
  stacking rings the callee cannot answer. An invite whose callee is busy still creates a
  call, ended at once with reason `busy`, so it is announced and stored like any other.
  An invite from a caller already in a live call is refused (`already_in_call`).
- Every operation is atomic: it applies one `Call` transition and updates the indices,
  or raises and changes nothing.
- A connection (session id) is bound to at most one call: the caller's inviting
  connection, the callee's accepting one.
- An ended call leaves every index at once and stays readable by id for `keep_ended`
  seconds, so a late frame gets `call_ended` rather than `call_not_found`.
- No clock: deadlines are applied by `check_timeouts(now)`, which the gateway calls at
  `next_deadline()`; it returns the calls that ended so they can be announced.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from signaling.errors import CallNotFound, CannotCall
from signaling.participants import ConversationParties, Participant, resolve_callee
from signaling.state import (
    DEFAULT_RECONNECT_GRACE,
    DEFAULT_RING_TIMEOUT,
    Call,
    EndReason,
    Media,
)


def new_call_id() -> str:
    return secrets.token_hex(16)


class CallRegistry:
    """In-memory calls of this node, a real implementation (not a test double).

    `ring_timeout` and `reconnect_grace` are given to every new call (see `signaling.state`);
    `keep_ended` is how long (seconds) an ended call stays readable by id.
    """

    def __init__(
        self,
        *,
        ring_timeout: float | None = DEFAULT_RING_TIMEOUT,
        reconnect_grace: float = DEFAULT_RECONNECT_GRACE,
        keep_ended: float = 60.0,
        new_id: Callable[[], str] = new_call_id,
    ) -> None:
        self.ring_timeout = ring_timeout
        self.reconnect_grace = reconnect_grace
        self.keep_ended = timedelta(seconds=keep_ended)
        self._new_id = new_id
        self._live: dict[str, Call] = {}
        self._ended: dict[str, Call] = {}
        self._by_participant: dict[Participant, str] = {}
        self._by_conversation: dict[str, str] = {}
        self._by_session: dict[str, str] = {}
        # What each live call was indexed under, to unindex it after a transition.
        self._keys: dict[str, tuple[tuple[Participant, ...], str, tuple[str, ...]]] = {}

    # --- reading -----------------------------------------------------------------------

    def get(self, call_id: str) -> Call:
        """A live or recently ended call; CallNotFound otherwise."""
        call = self._live.get(call_id) or self._ended.get(call_id)
        if call is None:
            raise CallNotFound("no such call", call_id=call_id)
        return call

    def call_of(self, who: Participant) -> Call | None:
        call_id = self._by_participant.get(who)
        return None if call_id is None else self._live[call_id]

    def call_in(self, conversation_id: str) -> Call | None:
        call_id = self._by_conversation.get(conversation_id)
        return None if call_id is None else self._live[call_id]

    def call_bound_to(self, session_id: str) -> Call | None:
        call_id = self._by_session.get(session_id)
        return None if call_id is None else self._live[call_id]

    def live_calls(self) -> Iterator[Call]:
        return iter(list(self._live.values()))

    def next_deadline(self) -> datetime | None:
        deadlines = [d for call in self._live.values() if (d := call.deadline()) is not None]
        return min(deadlines, default=None)

    # --- operations --------------------------------------------------------------------

    def invite(
        self,
        parties: ConversationParties,
        caller: Participant,
        session_id: str,
        media: Media,
        now: datetime,
    ) -> Call:
        """A new call from `caller` on connection `session_id`: ringing, or ended `busy`."""
        callee = resolve_callee(parties, caller)
        if caller in self._by_participant:
            raise CannotCall(
                "you are already in a call; hang it up first",
                "already_in_call",
                call_id=self._by_participant[caller],
            )
        call = Call(
            id=self._new_id(),
            conversation_id=parties.conversation_id,
            caller=caller,
            callee=callee,
            media=media,
            caller_session=session_id,
            created_at=now,
            ring_timeout=self.ring_timeout,
            reconnect_grace=self.reconnect_grace,
        )
        if call.id in self._live or call.id in self._ended:
            raise RuntimeError(f"call id {call.id} is already taken")
        if callee in self._by_participant or parties.conversation_id in self._by_conversation:
            call.callee_busy(now)
        self._settle(call, now)
        return call

    def accept(self, call_id: str, by: Participant, session_id: str, now: datetime) -> Call:
        call = self.get(call_id)
        call.accept(by, session_id, now)
        return self._settle(call, now)

    def decline(self, call_id: str, by: Participant, now: datetime) -> Call:
        call = self.get(call_id)
        call.decline(by, now)
        return self._settle(call, now)

    def cancel(self, call_id: str, by: Participant, now: datetime) -> Call:
        call = self.get(call_id)
        call.cancel(by, now)
        return self._settle(call, now)

    def hangup(
        self,
        call_id: str,
        by: Participant,
        now: datetime,
        reason: EndReason = EndReason.HUNG_UP,
    ) -> Call:
        call = self.get(call_id)
        call.hangup(by, now, reason)
        return self._settle(call, now)

    def rejoin(self, call_id: str, by: Participant, session_id: str, now: datetime) -> Call:
        """`by` is back on a new connection within the grace period."""
        call = self.get(call_id)
        call.participant_reconnected(by, session_id, now)
        return self._settle(call, now)

    def abort(self, call_id: str, now: datetime) -> Call:
        call = self.get(call_id)
        call.abort(now)
        return self._settle(call, now)

    def connection_closed(self, session_id: str, now: datetime) -> Call | None:
        """A WebSocket closed. The call bound to it (if any), now ended or interrupted."""
        call = self.call_bound_to(session_id)
        if call is None:
            return None
        who = call.bound_sessions()[session_id]
        call.participant_disconnected(who, now)
        return self._settle(call, now)

    def check_timeouts(self, now: datetime) -> list[Call]:
        """End every call whose deadline passed (missed, dropped); return them."""
        ended = []
        for call in list(self._live.values()):
            if call.check_timeouts(now) is not None:
                ended.append(self._settle(call, now))
        self._forget_old(now)
        return ended

    # --- indices -----------------------------------------------------------------------

    def _settle(self, call: Call, now: datetime) -> Call:
        """Make every index agree with `call` after a transition (or its creation)."""
        self._unindex(call.id)
        if call.is_live:
            self._live[call.id] = call
            sessions = tuple(call.bound_sessions())
            for who in call.participants:
                self._by_participant[who] = call.id
            self._by_conversation[call.conversation_id] = call.id
            for session in sessions:
                self._by_session[session] = call.id
            self._keys[call.id] = (call.participants, call.conversation_id, sessions)
        else:
            self._live.pop(call.id, None)
            self._ended[call.id] = call
        self._forget_old(now)
        return call

    def _unindex(self, call_id: str) -> None:
        keys = self._keys.pop(call_id, None)
        if keys is None:
            return
        participants, conversation_id, sessions = keys
        for who in participants:
            if self._by_participant.get(who) == call_id:
                del self._by_participant[who]
        if self._by_conversation.get(conversation_id) == call_id:
            del self._by_conversation[conversation_id]
        for session in sessions:
            if self._by_session.get(session) == call_id:
                del self._by_session[session]

    def _forget_old(self, now: datetime) -> None:
        # `_ended` is in the order calls ended: stop at the first one still kept.
        for call_id, call in list(self._ended.items()):
            if call.ended_at is None or call.ended_at + self.keep_ended > now:
                break
            del self._ended[call_id]
