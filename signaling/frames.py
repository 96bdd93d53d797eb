"""The `call.*` frames: pydantic models of what clients send, builders of what we send.

The style of `server/protocol.py` (which the gateway merges `CALL_FRAMES` into): frames
are frozen models that forbid unknown fields, so a structural error (a field missing,
mistyped or unknown, `call.signal` with both or neither payload) is `invalid_frame`
there. What a payload contains (SDP and candidate sanity, sizes, floods) is judged by
`signaling.relay` with its own codes. Every client frame may carry an `id` (1-64 chars)
that the answer and any `error` echo.

Client frames: `call.invite`, `call.accept`, `call.decline`, `call.cancel`, `call.hangup`,
`call.signal`, `call.rejoin`. Server frames: `call.ringing`, `call.incoming`,
`call.accepted`, `call.signal`, `call.ended`, `call.state`; stored history events:
`call.started`, `call.ended`. Field names inside `description` and `candidate` are the
browser's (RTCSessionDescriptionInit, RTCIceCandidateInit) so both sides pass them to
`setRemoteDescription` / `addIceCandidate` untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from signaling.errors import SignalingError, WrongCallState
from signaling.participants import Participant
from signaling.state import Call, Media

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Names = Mapping[Participant, str]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionDescription(_Frame):
    """RTCSessionDescriptionInit. `sdp` may be empty only for `rollback`."""

    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: str = ""


class IceCandidate(_Frame):
    """RTCIceCandidateInit. An empty `candidate` is the end-of-candidates marker."""

    candidate: str
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None
    usernameFragment: str | None = None


class CallInvite(_Frame):
    type: Literal["call.invite"]
    id: ClientId | None = None
    conversation_id: EntityId
    media: Media


class CallAccept(_Frame):
    type: Literal["call.accept"]
    id: ClientId | None = None
    call_id: EntityId


class CallDecline(_Frame):
    type: Literal["call.decline"]
    id: ClientId | None = None
    call_id: EntityId


class CallCancel(_Frame):
    type: Literal["call.cancel"]
    id: ClientId | None = None
    call_id: EntityId


class CallHangup(_Frame):
    type: Literal["call.hangup"]
    id: ClientId | None = None
    call_id: EntityId
    reason: Literal["hung_up", "failed"] = "hung_up"


class CallRejoin(_Frame):
    type: Literal["call.rejoin"]
    id: ClientId | None = None
    call_id: EntityId


class CallSignal(_Frame):
    type: Literal["call.signal"]
    id: ClientId | None = None
    call_id: EntityId
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None

    @model_validator(mode="after")
    def _exactly_one_payload(self) -> CallSignal:
        if (self.description is None) == (self.candidate is None):
            raise ValueError("a call.signal carries exactly one of description and candidate")
        return self


CallFrame = (
    CallInvite | CallAccept | CallDecline | CallCancel | CallHangup | CallRejoin | CallSignal
)

CALL_FRAMES: dict[str, type[_Frame]] = {
    "call.invite": CallInvite,
    "call.accept": CallAccept,
    "call.decline": CallDecline,
    "call.cancel": CallCancel,
    "call.hangup": CallHangup,
    "call.rejoin": CallRejoin,
    "call.signal": CallSignal,
}


# --- server frames ---------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    """The protocol's instant format (`server.protocol.iso`, which we may not import)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def participant_json(who: Participant | None, names: Names | None = None) -> dict[str, Any]:
    """`{type, id, name?}` like a message's author; None is the system."""
    if who is None:
        return {"type": "system", "id": None}
    data: dict[str, Any] = who.as_json()
    if names and who in names:
        data["name"] = names[who]
    return data


def _call_fields(call: Call, names: Names | None) -> dict[str, Any]:
    return {
        "call_id": call.id,
        "conversation_id": call.conversation_id,
        "media": call.media.value,
        "caller": participant_json(call.caller, names),
        "callee": participant_json(call.callee, names),
    }


def _with_id(frame: dict[str, Any], frame_id: str | None) -> dict[str, Any]:
    if frame_id is not None:
        frame["id"] = frame_id
    return frame


def ringing_frame(
    call: Call,
    ice_servers: Sequence[Mapping[str, Any]],
    *,
    frame_id: str | None = None,
    names: Names | None = None,
) -> dict[str, Any]:
    """To every connection of the caller: the invite rings. `session_id` is the inviting
    connection (the one that will offer); the caller's other tabs show "in a call"."""
    return _with_id(
        {
            "type": "call.ringing",
            **_call_fields(call, names),
            "session_id": call.session_of(call.caller),
            "created_at": iso(call.created_at),
            "ring_expires_at": iso(call.ring_deadline),
            "ice_servers": list(ice_servers),
        },
        frame_id,
    )


def incoming_frame(
    call: Call, ice_servers: Sequence[Mapping[str, Any]], *, names: Names | None = None
) -> dict[str, Any]:
    """To every connection of the callee: ring, offer accept and decline."""
    return {
        "type": "call.incoming",
        **_call_fields(call, names),
        "created_at": iso(call.created_at),
        "ring_expires_at": iso(call.ring_deadline),
        "ice_servers": list(ice_servers),
    }


def accepted_frame(
    call: Call, recipient: Participant, *, frame_id: str | None = None
) -> dict[str, Any]:
    """To every connection of both participants once the callee answered.

    `session_id` is the RECIPIENT's connection in the call: the tab whose own session id
    it is takes part (the caller's sends the first offer); the others stop ringing."""
    return _with_id(
        {
            "type": "call.accepted",
            "call_id": call.id,
            "conversation_id": call.conversation_id,
            "session_id": call.session_of(recipient),
            "answered_at": iso(call.answered_at),
        },
        frame_id,
    )


def signal_frame(
    call: Call, sender: Participant, payload: SessionDescription | IceCandidate
) -> dict[str, Any]:
    """To the other participant's bound connection only; the payload re-serialized."""
    key = "description" if isinstance(payload, SessionDescription) else "candidate"
    return {
        "type": "call.signal",
        "call_id": call.id,
        "by": participant_json(sender),
        key: payload.model_dump(),
    }


def _ended_fields(call: Call) -> dict[str, Any]:
    if call.end_reason is None or call.duration is None:
        raise ValueError(f"call {call.id} has not ended")
    return {
        "call_id": call.id,
        "media": call.media.value,
        "reason": call.end_reason.value,
        "caller": participant_json(call.caller),
        "callee": participant_json(call.callee),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "duration_seconds": round(call.duration.total_seconds(), 3),
    }


def ended_frame(
    call: Call, *, frame_id: str | None = None, names: Names | None = None
) -> dict[str, Any]:
    """To every connection of both participants, live (no seq). The stored history
    event of the same type follows with a seq; clients treat both idempotently."""
    return _with_id(
        {
            "type": "call.ended",
            "conversation_id": call.conversation_id,
            "by": participant_json(call.ended_by, names),
            **_ended_fields(call),
        },
        frame_id,
    )


def state_frame(
    call: Call,
    recipient: Participant,
    *,
    ice_servers: Sequence[Mapping[str, Any]] | None = None,
    frame_id: str | None = None,
    names: Names | None = None,
) -> dict[str, Any]:
    """A snapshot of a live call for one participant: after `welcome` for each live call
    they are in (a new tab rings too, a reconnected tab may rejoin), to both when a
    connection is lost or rejoins, and as the answer to `call.rejoin`."""
    interrupted = [
        {**participant_json(who, names), "rejoin_by": iso(call.rejoin_deadline(who))}
        for who in call.interrupted
    ]
    frame: dict[str, Any] = {
        "type": "call.state",
        **_call_fields(call, names),
        "state": call.state.value,
        "role": call.role_of(recipient),
        "session_id": call.session_of(recipient),
        "created_at": iso(call.created_at),
        "answered_at": iso(call.answered_at),
        "ring_expires_at": iso(call.ring_deadline),
        "interrupted": interrupted,
    }
    if ice_servers is not None:
        frame["ice_servers"] = list(ice_servers)
    return _with_id(frame, frame_id)


def error_frame(exc: SignalingError, frame_id: str | None = None) -> dict[str, Any]:
    """`error {id?, code, message, call_id?, expected?, found?, retryable?}`."""
    frame: dict[str, Any] = {"type": "error", "code": exc.code, "message": exc.message}
    if frame_id is not None:
        frame["id"] = frame_id
    if exc.call_id is not None:
        frame["call_id"] = exc.call_id
    if isinstance(exc, WrongCallState):
        frame["expected"] = [state.value for state in exc.expected]
        frame["found"] = exc.found.value
    if exc.retryable:
        frame["retryable"] = True
    return frame


# --- history ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event for the conversation's log: stored with a seq, replayed like messages.

    The gateway stores `type`, `author` (None: the system) and `data`; a follower
    receives `{type, conversation_id, seq, by, created_at, **data}`."""

    type: str
    author: Participant | None
    data: dict[str, Any]


def history_started(call: Call) -> HistoryEvent:
    """Stored when the call is placed (every call, a busy one too), by the caller."""
    return HistoryEvent(
        "call.started",
        call.caller,
        {
            "call_id": call.id,
            "media": call.media.value,
            "caller": participant_json(call.caller),
            "callee": participant_json(call.callee),
        },
    )


def history_ended(call: Call) -> HistoryEvent:
    """Stored when the call ends, by whoever ended it (the system for missed/busy/failed)."""
    return HistoryEvent("call.ended", call.ended_by, _ended_fields(call))
