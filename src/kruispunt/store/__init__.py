"""Storage room: engines, the shared schema metadata, migrations, bulk writes and columnar reads.

Public API: :func:`create_engine_for`, :func:`upgrade`, :data:`metadata`, :func:`bulk_insert`,
:func:`read_frame`, :func:`append_events`, :func:`append_block`, :func:`append_events_from`,
:func:`lock_outbox`, :func:`is_postgresql`, :func:`indexes_deferred`, :func:`sqlite_value` (a bound
value as SQLAlchemy stores it in SQLite, for statements run on the driver).
"""

from sqlalchemy import Engine

from kruispunt.store.bulk import bulk_insert, indexes_deferred, read_frame, sqlite_value
from kruispunt.store.engine import create_engine_for, is_postgresql
from kruispunt.store.events import (
    append_block,
    append_events,
    append_events_from,
    lock_outbox,
    mutation_event,
)
from kruispunt.store.metadata import ID, metadata


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration up to ``revision`` (see :mod:`kruispunt.store.migrate`)."""
    from kruispunt.store import migrate  # Alembic takes a second to import; only commands that migrate pay

    migrate.upgrade(engine, revision)


def current_revision(engine: Engine) -> str | None:
    """The applied revision(s), comma-separated when several room branches are applied."""
    from kruispunt.store import migrate

    return migrate.current_revision(engine)


__all__ = [
    "ID",
    "append_block",
    "append_events",
    "append_events_from",
    "bulk_insert",
    "create_engine_for",
    "current_revision",
    "indexes_deferred",
    "is_postgresql",
    "lock_outbox",
    "metadata",
    "mutation_event",
    "read_frame",
    "sqlite_value",
    "upgrade",
]
