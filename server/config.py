"""Settings: every knob of a Kefu node, read from `KEFU_*` environment variables.

Limits are plain literal defaults documented here once; docs/protocol.md repeats them
for clients. The signing secret has no default: it is generated on first run and kept
in the data folder with mode 0600 (see `load_or_create_secret`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_FILE_NAME = "secret.key"
MIN_SECRET_LENGTH = 32


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

    @field_validator("secret")
    @classmethod
    def _secret_is_strong(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"KEFU_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        return value

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
