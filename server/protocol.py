"""The v1 wire contract: every frame a client may send, and builders for every frame we send.

No I/O here: `parse_client_frame(raw)` turns text into a validated frame or raises a
`ProtocolError` carrying the stable code; the gateway does the rest. docs/protocol.md is
the prose of this module and must change with it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from server.errors import BadRequest

PROTOCOL_VERSION = 1

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Seq = Annotated[int, Field(ge=0)]


class CloseCode:
    """WebSocket close codes Kefu uses (4000-4999 are ours)."""

    GOING_AWAY = 1001
    TOO_BIG = 1009
    HELLO_TIMEOUT = 4001
    UNAUTHORIZED = 4003
    SLOW_CONSUMER = 4008


class ProtocolError(BadRequest):
    """A frame the server cannot act on; `frame_id` echoes the client's `id` when known."""

    def __init__(self, code: str, message: str, frame_id: str | None = None) -> None:
        super().__init__(message, code)
        self.frame_id = frame_id


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Frame):
    type: Literal["hello"]
    token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    resume: dict[EntityId, Seq] = Field(default_factory=dict)


class Resume(_Frame):
    type: Literal["resume"]
    conversations: dict[EntityId, Seq]


class MessageSend(_Frame):
    type: Literal["message.send"]
    id: ClientId
    conversation_id: EntityId
    text: str


class Typing(_Frame):
    type: Literal["typing"]
    conversation_id: EntityId
    state: bool = True


class Read(_Frame):
    type: Literal["read"]
    conversation_id: EntityId
    seq: Seq


class Ping(_Frame):
    type: Literal["ping"]
    id: ClientId | None = None


ClientFrame = Hello | Resume | MessageSend | Typing | Read | Ping

CLIENT_FRAMES: dict[str, type[_Frame]] = {
    "hello": Hello,
    "resume": Resume,
    "message.send": MessageSend,
    "typing": Typing,
    "read": Read,
    "ping": Ping,
}


def parse_client_frame(
    raw: str | bytes, extra_frames: dict[str, type[BaseModel]] | None = None
) -> BaseModel:
    """Validate one client frame; raise ProtocolError(invalid_json|invalid_frame|unknown_type).

    `extra_frames` are the frame types features registered (`hooks.Hooks.add_frame`).
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("invalid_json", f"frame is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("invalid_frame", "a frame must be a JSON object")
    frame_id = data.get("id") if isinstance(data.get("id"), str) else None
    frame_type = data.get("type")
    if not isinstance(frame_type, str):
        raise ProtocolError("invalid_frame", "a frame needs a string 'type'", frame_id)
    model: type[BaseModel] | None = CLIENT_FRAMES.get(frame_type)
    if model is None and extra_frames:
        model = extra_frames.get(frame_type)
    if model is None:
        raise ProtocolError("unknown_type", f"unknown frame type {frame_type[:40]!r}", frame_id)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "frame"
        raise ProtocolError(
            "invalid_frame", f"{frame_type}: {where}: {first['msg']}", frame_id
        ) from exc


def error_frame(
    code: str, message: str, frame_id: str | None = None, retryable: bool = False
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if frame_id is not None:
        frame["id"] = frame_id
    if retryable:
        frame["retryable"] = True
    return frame


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
