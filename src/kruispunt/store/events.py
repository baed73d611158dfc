"""The mutation outbox: every change to the register or the statuses, numbered in commit order.

Rooms append events in the same transaction as the change they describe; the exchange hub and the
rights engine read them by sequence number. On PostgreSQL writers serialise on an advisory lock so that
sequence order is commit order and a reader's cursor never skips a late-committing lower number.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Index,
    String,
    Table,
    Text,
    text,
)

from kruispunt.store.bulk import bulk_insert
from kruispunt.store.metadata import ID, metadata

OUTBOX_LOCK_KEY = 7_300_001

mutation_event = Table(
    "mutation_event",
    metadata,
    Column("seq", ID, primary_key=True, autoincrement=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("person_id", BigInteger, nullable=True),
    Column("insz", String(11), nullable=True),
    Column("subject", String(40), nullable=True),
    Column("effective_from", Date, nullable=True),
    Column("effective_to", Date, nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_mutation_event_person", "person_id"),
)

EVENT_COLUMNS = (
    "recorded_at",
    "kind",
    "person_id",
    "insz",
    "subject",
    "effective_from",
    "effective_to",
    "detail",
)


def append_events(conn: Connection, events: pl.DataFrame) -> int:
    """Append ``events`` (columns among EVENT_COLUMNS) inside the caller's transaction."""
    if events.is_empty():
        return 0
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK_KEY})
    return bulk_insert(conn, mutation_event, events)
