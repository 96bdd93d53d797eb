"""The database handle: engine, sessions, and the rules that make SQLite and PostgreSQL agree.

`Database.write()` is the one way to change data: a transaction that commits on exit.
On SQLite (one writer at a time by nature) writes are serialized by an asyncio lock, so
concurrent posters queue instead of failing with "database is locked"; WAL lets reads
go on meanwhile. On PostgreSQL the row lock taken on `conversations.last_seq` orders
concurrent posters of one conversation. A store that cannot be reached surfaces as
`Unavailable` (code `store_unavailable`, retryable), never as a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from server.errors import Unavailable


class Database:
    """One engine per process, built at startup (never at import)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=10)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        try:
            async with self.sessions() as session:
                yield session
        except (OperationalError, OSError) as exc:
            raise _unavailable(exc) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_unreachable(exc):
                raise _unavailable(exc) from exc
            raise

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        lock = self._write_lock or contextlib.nullcontext()
        try:
            async with lock, self.sessions() as session, session.begin():
                yield session
        except (OperationalError, OSError) as exc:
            raise _unavailable(exc) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated or _is_unreachable(exc):
                raise _unavailable(exc) from exc
            raise

    async def ping(self) -> None:
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


# SQLSTATE classes meaning "the server is not there for us now", not "your query is wrong":
# 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53 out of resources.
_UNREACHABLE_SQLSTATES = ("08", "57P", "53")


def _is_unreachable(exc: DBAPIError) -> bool:
    """Whether a driver error says the store is unreachable (so retrying later helps)."""
    seen: BaseException | None = exc.orig
    for _ in range(4):
        if seen is None:
            return False
        code = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(code, str) and code.startswith(_UNREACHABLE_SQLSTATES):
            return True
        seen = seen.__cause__
    return False


def _unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"the store is unreachable, retry later ({type(exc).__name__})")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
