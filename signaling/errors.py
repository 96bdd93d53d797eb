"""Every refusal a call frame can earn: one exception tree, one stable code each.

    SignalingError (code, message, call_id, retryable)
    ├── CallNotFound      call_not_found
    ├── CannotCall        no_agent, already_in_call
    ├── NotAllowed        not_a_participant, not_the_caller, not_the_callee, not_the_assignee
    ├── WrongCallState    call_not_ringing, call_not_active, call_ended   (expected, found)
    ├── NotInterrupted    not_interrupted
    └── SignalRejected    signal_not_allowed, peer_interrupted (retryable), sdp_too_large,
                          sdp_malformed, candidate_too_large, candidate_malformed,
                          candidate_flood (retryable when only the rate was exceeded),
                          description_flood

`busy` is not an error: the invite succeeds and the call ends at once with reason `busy`,
so it is announced and stored like any other ending. The gateway turns a SignalingError
into an `error {id, code, message, call_id?, expected?, found?, retryable?}` frame
(`frames.error_frame`); the code is the contract, the message is for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signaling.state import CallState


class SignalingError(Exception):
    code = "signaling_error"

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        call_id: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.call_id = call_id
        self.retryable = retryable


class CallNotFound(SignalingError):
    code = "call_not_found"


class CannotCall(SignalingError):
    """The invite cannot become a call: nobody to call, or the caller is in a call already."""

    code = "cannot_call"


class NotAllowed(SignalingError):
    """The sender is not the participant this step belongs to."""

    code = "not_allowed"


class WrongCallState(SignalingError):
    """The call is not in a state where this step applies.

    `expected` lists the states the step needs, `found` is the call's state. The code says
    which: `call_ended` whenever the call is over (a late frame: clients ignore it),
    otherwise `call_not_ringing` or `call_not_active` after the first expected state.
    """

    def __init__(
        self, step: str, expected: Sequence[CallState], found: CallState, *, call_id: str
    ) -> None:
        self.expected = tuple(expected)
        self.found = found
        wanted = " or ".join(state.value for state in self.expected)
        ended = found.value == "ended"
        code = "call_ended" if ended else f"call_not_{self.expected[0].value}"
        super().__init__(
            f"{step} needs a {wanted} call; this call is {found.value}", code, call_id=call_id
        )


class NotInterrupted(SignalingError):
    """`call.rejoin` from a participant whose connection to the call was never lost."""

    code = "not_interrupted"


class SignalRejected(SignalingError):
    """A `call.signal` that is not relayed."""

    code = "signal_not_allowed"
