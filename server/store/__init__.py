"""Persistence: SQLAlchemy 2 async models and the database handle, on SQLite or PostgreSQL.

The schema changes only through the Alembic migrations in `migrations/`.
"""

from server.store.db import Database

__all__ = ["Database"]
