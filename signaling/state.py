"""The call state machine: one `Call`, its checked transitions, its deadlines and duration.

            accept (callee)
    RINGING ───────────────► ACTIVE
       │                        │ hangup (either), hangup(failed) (either),
       │                        │ abort (server), grace over after a lost connection
       │                        ▼
       └──────────────────► ENDED (reason, by)
    decline (callee)                       declined
    cancel (caller)                        cancelled
    hangup while ringing                   cancelled (caller) / declined (callee)
    ring_timeout                           missed
    callee_busy (at invite)                busy
    caller's connection lost while ringing dropped
    hangup(reason=failed)                  failed
    abort (server gives up)                failed

No I/O and no clock: every transition takes `now` (an aware datetime) from the caller and
deadlines are only reported (`deadline()`) and enforced when `check_timeouts(now)` runs,
never as a side effect of another transition. Between a deadline and that run the call
keeps its state, so a late accept still wins against a slow timer; the gateway runs its
timer at `deadline()`.

Each transition checks who sends it first (an outsider learns nothing about the call),
then the call's state, and only then changes anything: a refused transition leaves the
call as it was. Refusals come from `signaling.errors`: `NotAllowed`
(`not_a_participant`, `not_the_callee`, `not_the_caller`), `WrongCallState`
(`call_not_ringing`, `call_not_active`, `call_ended`, with `expected` and `found`),
`NotInterrupted`.

Decisions:
- Only the callee accepts or declines; only the caller cancels.
- `hangup` is the race-free red button: it ends the call in any live state. While ringing
  it means cancel (from the caller) or decline (from the callee), so a caller whose
  hang-up crosses the callee's accept never gets an error; the explicit `cancel` and
  `decline` stay strict.
- A participant is bound to ONE connection (session id): the caller's inviting one, the
  callee's accepting one. Losing it while ACTIVE starts a grace period
  (`reconnect_grace`, 30 s by default): `participant_reconnected` within it rebinds the
  call to the new connection, after it the call ends `dropped`. Losing the caller's
  connection while RINGING ends the call `dropped` at once (nothing is established yet;
  calling again is cheap).
- `duration` is talk time: from the answer to the end; zero for a call never answered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from signaling.errors import NotAllowed, NotInterrupted, WrongCallState
from signaling.participants import Participant

DEFAULT_RING_TIMEOUT = 30.0
DEFAULT_RECONNECT_GRACE = 30.0


class CallState(StrEnum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


class EndReason(StrEnum):
    DECLINED = "declined"
    CANCELLED = "cancelled"
    MISSED = "missed"
    BUSY = "busy"
    HUNG_UP = "hung_up"
    DROPPED = "dropped"
    FAILED = "failed"


class Media(StrEnum):
    """What the caller asked for. Either side may add video or a screen later."""

    AUDIO = "audio"
    VIDEO = "video"


Role = Literal["caller", "callee"]
LIVE_STATES = (CallState.RINGING, CallState.ACTIVE)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("call instants must be aware datetimes (UTC)")
    return now


class Call:
    """One call between the two participants of a conversation.

    `ring_timeout` (seconds, None: ring until someone acts) and `reconnect_grace` (seconds,
    0: a lost connection ends the call at once) are fixed when the call is created.
    """

    def __init__(
        self,
        *,
        id: str,
        conversation_id: str,
        caller: Participant,
        callee: Participant,
        media: Media,
        caller_session: str,
        created_at: datetime,
        ring_timeout: float | None = DEFAULT_RING_TIMEOUT,
        reconnect_grace: float = DEFAULT_RECONNECT_GRACE,
    ) -> None:
        if caller == callee:
            raise ValueError("a participant cannot call themselves")
        if not caller_session:
            raise ValueError("the caller's connection (session id) is required")
        if ring_timeout is not None and ring_timeout <= 0:
            raise ValueError("ring_timeout must be positive (or None)")
        if reconnect_grace < 0:
            raise ValueError("reconnect_grace must not be negative")
        self.id = id
        self.conversation_id = conversation_id
        self.caller = caller
        self.callee = callee
        self.media = Media(media)
        self.created_at = _aware(created_at)
        self.ring_limit = None if ring_timeout is None else timedelta(seconds=ring_timeout)
        self.grace = timedelta(seconds=reconnect_grace)
        self.state = CallState.RINGING
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.end_reason: EndReason | None = None
        self.ended_by: Participant | None = None
        self._sessions: dict[Participant, str | None] = {caller: caller_session, callee: None}
        self._interrupted: dict[Participant, datetime] = {}

    def __repr__(self) -> str:
        end = f" {self.end_reason.value}" if self.end_reason else ""
        return f"<Call {self.id} {self.state.value}{end} {self.caller.key}→{self.callee.key}>"

    # --- reading -----------------------------------------------------------------------

    @property
    def participants(self) -> tuple[Participant, Participant]:
        return (self.caller, self.callee)

    @property
    def is_live(self) -> bool:
        return self.state is not CallState.ENDED

    def includes(self, who: Participant) -> bool:
        return who == self.caller or who == self.callee

    def role_of(self, who: Participant) -> Role:
        self._require_participant(who)
        return "caller" if who == self.caller else "callee"

    def other(self, who: Participant) -> Participant:
        self._require_participant(who)
        return self.callee if who == self.caller else self.caller

    def session_of(self, who: Participant) -> str | None:
        """The connection `who` takes part through; None while unbound or interrupted."""
        self._require_participant(who)
        return self._sessions[who]

    def bound_sessions(self) -> dict[str, Participant]:
        return {session: who for who, session in self._sessions.items() if session}

    @property
    def interrupted(self) -> dict[Participant, datetime]:
        """Participants whose bound connection was lost, with the instant it was lost."""
        return dict(self._interrupted)

    def rejoin_deadline(self, who: Participant) -> datetime | None:
        since = self._interrupted.get(who)
        return None if since is None else since + self.grace

    @property
    def ring_deadline(self) -> datetime | None:
        if self.state is not CallState.RINGING or self.ring_limit is None:
            return None
        return self.created_at + self.ring_limit

    def deadline(self) -> datetime | None:
        """When `check_timeouts` will next have something to do; None: never by itself."""
        if self.state is CallState.RINGING:
            return self.ring_deadline
        if self.state is CallState.ACTIVE and self._interrupted:
            return min(self._interrupted.values()) + self.grace
        return None

    @property
    def duration(self) -> timedelta | None:
        """Talk time of an ended call (zero if never answered); None while live."""
        if self.ended_at is None:
            return None
        if self.answered_at is None:
            return timedelta(0)
        return max(self.ended_at - self.answered_at, timedelta(0))

    def elapsed(self, now: datetime) -> timedelta:
        """Talk time so far (for a call timer); zero before the answer."""
        if self.answered_at is None:
            return timedelta(0)
        until = self.ended_at or _aware(now)
        return max(until - self.answered_at, timedelta(0))

    # --- transitions -------------------------------------------------------------------

    def accept(self, by: Participant, session_id: str, now: datetime) -> None:
        self._require_callee(by, "accept")
        self._require_state("call.accept", CallState.RINGING)
        if not session_id:
            raise ValueError("accepting needs the accepting connection's session id")
        self.answered_at = _aware(now)
        self.state = CallState.ACTIVE
        self._sessions[by] = session_id

    def decline(self, by: Participant, now: datetime) -> None:
        self._require_callee(by, "decline")
        self._require_state("call.decline", CallState.RINGING)
        self._end(EndReason.DECLINED, by, now)

    def cancel(self, by: Participant, now: datetime) -> None:
        self._require_participant(by)
        if by != self.caller:
            raise NotAllowed(
                "only the caller can cancel a call; the callee declines",
                "not_the_caller",
                call_id=self.id,
            )
        self._require_state("call.cancel", CallState.RINGING)
        self._end(EndReason.CANCELLED, by, now)

    def hangup(self, by: Participant, now: datetime, reason: EndReason = EndReason.HUNG_UP) -> None:
        """End a live call. `reason` is `hung_up`, or `failed` when the client's media failed
        (no device, permission denied, ICE failed); while ringing, `hung_up` becomes
        `cancelled` (caller) or `declined` (callee)."""
        if reason not in (EndReason.HUNG_UP, EndReason.FAILED):
            raise ValueError(f"a hang-up is hung_up or failed, not {reason.value}")
        self._require_participant(by)
        self._require_state("call.hangup", *LIVE_STATES)
        if reason is EndReason.HUNG_UP and self.state is CallState.RINGING:
            reason = EndReason.CANCELLED if by == self.caller else EndReason.DECLINED
        self._end(reason, by, now)

    def ring_timeout(self, now: datetime) -> None:
        """Nobody answered in time: the call is `missed`."""
        self._require_state("ring timeout", CallState.RINGING)
        self._end(EndReason.MISSED, None, now)

    def callee_busy(self, now: datetime) -> None:
        """The callee is in another call: the invite ends at once as `busy`."""
        self._require_state("busy", CallState.RINGING)
        self._end(EndReason.BUSY, None, now)

    def abort(self, now: datetime) -> None:
        """The server gives up on a live call (shutting down, conversation deleted)."""
        self._require_state("abort", *LIVE_STATES)
        self._end(EndReason.FAILED, None, now)

    def participant_disconnected(self, who: Participant, now: datetime) -> None:
        """`who`'s bound connection closed. Ringing caller: `dropped` now; active: grace."""
        self._require_participant(who)
        if self.state is CallState.RINGING and who == self.caller:
            self._end(EndReason.DROPPED, who, now)
            return
        self._require_state("disconnect", CallState.ACTIVE)
        if who in self._interrupted:
            return
        self._interrupted[who] = _aware(now)
        self._sessions[who] = None
        if not self.grace:
            self._end(EndReason.DROPPED, who, now)

    def participant_reconnected(self, who: Participant, session_id: str, now: datetime) -> None:
        """`who` is back on connection `session_id` within the grace: the call is theirs."""
        self._require_participant(who)
        self._require_state("call.rejoin", CallState.ACTIVE)
        if who not in self._interrupted:
            raise NotInterrupted(
                "this call never lost your connection; nothing to rejoin", call_id=self.id
            )
        if not session_id:
            raise ValueError("rejoining needs the new connection's session id")
        _aware(now)
        del self._interrupted[who]
        self._sessions[who] = session_id

    def check_timeouts(self, now: datetime) -> EndReason | None:
        """Apply every deadline passed at `now`; the reason if the call ended now."""
        _aware(now)
        if self.state is CallState.RINGING:
            deadline = self.ring_deadline
            if deadline is not None and now >= deadline:
                self.ring_timeout(now)
                return EndReason.MISSED
        elif self.state is CallState.ACTIVE:
            for who, since in sorted(self._interrupted.items(), key=lambda item: item[1]):
                if now >= since + self.grace:
                    self._end(EndReason.DROPPED, who, now)
                    return EndReason.DROPPED
        return None

    # --- checks ------------------------------------------------------------------------

    def _require_participant(self, who: Participant) -> None:
        if not self.includes(who):
            raise NotAllowed(
                "you are not a participant of this call", "not_a_participant", call_id=self.id
            )

    def _require_callee(self, who: Participant, verb: str) -> None:
        self._require_participant(who)
        if who != self.callee:
            raise NotAllowed(
                f"only the callee can {verb} a call", "not_the_callee", call_id=self.id
            )

    def _require_state(self, step: str, *expected: CallState) -> None:
        if self.state not in expected:
            raise WrongCallState(step, expected, self.state, call_id=self.id)

    def _end(self, reason: EndReason, by: Participant | None, now: datetime) -> None:
        self.ended_at = _aware(now)
        self.state = CallState.ENDED
        self.end_reason = reason
        self.ended_by = by
        self._sessions = dict.fromkeys(self._sessions)
        self._interrupted.clear()
