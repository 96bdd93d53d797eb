"""Settings: every knob of a Kefu node, read from `KEFU_*` environment variables.

Limits are plain literal defaults documented here once; docs/protocol.md repeats them
for clients. The signing secret has no default: it is generated on first run and kept
in the data folder with mode 0600 (see `load_or_create_secret`).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from signaling.ice import IceConfig

SECRET_FILE_NAME = "secret.key"
MIN_SECRET_LENGTH = 32
MIN_TURN_SECRET_LENGTH = 16


class Settings(BaseSettings):
    """One node's configuration. Build it once per process (no import-time settings)."""

    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    data_dir: Path = Path("data")
    """Folder for the SQLite file, the generated secret and demo.json."""
    database_url: str | None = None
    """SQLAlchemy URL; default `sqlite+aiosqlite:///<data_dir>/kefu.db`."""
    redis_url: str | None = None
    """Redis for the bus and presence across nodes; default: in-process (one node)."""
    secret: str | None = None
    """Signing secret for tokens; default: generated into `<data_dir>/secret.key`."""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: Literal["json", "text"] = "json"
    """`json`: one JSON object per line with request/connection ids (`server.logs`);
    `text`: uvicorn's plain lines, for reading by eye."""
    workers: int = Field(default=1, ge=1, le=64)
    """Processes `kefu serve` runs on one port; more than one needs `KEFU_REDIS_URL` (the
    processes share the bus and presence through Redis) and is not for `--demo`."""
    ws_compression: bool = True
    """Offer permessage-deflate on WebSockets: smaller replays and history pages, at about
    45 KiB of server memory per idle connection (docs/performance.md)."""
    demo: bool = False
    """Seed and serve the demo store (`kefu serve --demo`)."""
    web_dir: Path | None = None
    """Folder of the web client; default: `web_client/` beside the packages."""

    access_token_ttl_seconds: int = 3600
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    visitor_token_ttl_seconds: int = 30 * 24 * 3600

    max_frame_bytes: int = 64 * 1024
    """Largest WebSocket frame a client may send; larger ones close with 1009."""
    max_text_chars: int = 4000
    """Longest message text, in characters."""
    send_queue_max: int = 256
    """Frames waiting for a slow reader before it is disconnected with 4008."""
    rate_per_second: float = 10.0
    """Sustained client frames per second per connection (token bucket)."""
    rate_burst: int = 40
    """Frames a connection may send at once before the rate limit applies."""
    hello_timeout_seconds: float = 5.0
    """Time a new connection has to send `hello`; then it is closed with 4001."""
    replay_page_size: int = 200
    """Events fetched from the store per query while replaying."""
    max_resume_conversations: int = 500
    """Entries accepted in `hello.resume`."""
    typing_min_interval_seconds: float = Field(default=1.0)
    """Typing frames closer together than this per conversation are dropped silently."""

    translation_enabled: bool = True
    """Translate every message into each reader's language (issue 3)."""
    translation_models_dir: Path | None = None
    """Installed argos packages; default `<data_dir>/translation-models`."""
    translation_inter_threads: int = 2
    """Batches translated at once (CTranslate2 inter_threads); about one per core."""
    translation_intra_threads: int = 1
    """Threads per batch (CTranslate2 intra_threads)."""
    translation_beam_size: int = 4
    translation_max_wait_ms: float = 5.0
    """How long a message waits for others of its language pair to share a batch."""
    translation_max_pending: int = 1024
    """Messages waiting for translation; past it a message is delivered untranslated."""

    routing_sweep_seconds: float = 15.0
    """How often each node drains every routing tenant's queue (agents coming on shift get
    work), re-offers unanswered conversations and refreshes queue positions; 0: never."""
    routing_reoffer_after_seconds: float = 180.0
    """A conversation routing assigned that its agent has not answered within this is
    offered to another available agent; 0: never."""
    demo_routing: bool = True
    """Turn automatic routing on for the demo store's tenant when it is first seeded."""

    ice_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """STUN/TURN URLs handed to call peers (`stun:`, `stuns:`, `turn:`, `turns:`); the
    environment variable is a JSON list or comma-separated. Empty: peers on one network only."""
    turn_secret: str | None = Field(default=None, repr=False)
    """coturn's `static-auth-secret` (`use-auth-secret`): signs short-lived TURN credentials.
    Required with any `turn:` URL; at least 16 characters."""
    turn_ttl_seconds: int = Field(default=14400, gt=0)
    """Lifetime of the TURN credentials in `welcome`, `call.ringing`/`call.incoming` and REST."""
    call_ring_timeout_seconds: float = Field(default=30.0, gt=0)
    """A call nobody answers within this ends `missed`."""
    call_reconnect_grace_seconds: float = Field(default=30.0, ge=0)
    """A participant whose connection to an active call is lost may rejoin within this;
    after it the call ends `dropped`."""
    call_home_ttl_seconds: float = Field(default=5.0, gt=0)
    """With Redis: how long a node's claim on a tenant's calls (its call home, see
    `server.call_home`) lasts unrenewed; the holder renews it every third of it. So also
    how long after a node dies before another node takes new calls of its tenants."""

    @field_validator("secret")
    @classmethod
    def _secret_is_strong(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"KEFU_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("ice_urls", mode="before")
    @classmethod
    def _split_ice_urls(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [url.strip() for url in text.split(",") if url.strip()]
        return value

    @field_validator("turn_secret")
    @classmethod
    def _turn_secret_is_strong(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_TURN_SECRET_LENGTH:
            raise ValueError(
                f"KEFU_TURN_SECRET must be at least {MIN_TURN_SECRET_LENGTH} characters"
            )
        return value

    @model_validator(mode="after")
    def _ice_is_consistent(self) -> Settings:
        IceConfig(self.ice_urls, self.turn_secret, self.turn_ttl_seconds)  # raises if not
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    @property
    def resolved_translation_models_dir(self) -> Path:
        return self.translation_models_dir or (self.data_dir / "translation-models")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


def load_or_create_secret(settings: Settings) -> str:
    """The signing secret: `KEFU_SECRET`, else `<data_dir>/secret.key`, created 0600 if absent."""
    if settings.secret:
        return settings.secret
    path = settings.ensure_data_dir() / SECRET_FILE_NAME
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
    else:
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
    if len(value) < MIN_SECRET_LENGTH:
        raise RuntimeError(f"{path} holds a secret shorter than {MIN_SECRET_LENGTH} characters")
    return value
