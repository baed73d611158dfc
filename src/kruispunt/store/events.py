"""The mutation outbox: every change to the register or the statuses, numbered in commit order.

Rooms append events in the same transaction as the change they describe; the exchange hub and the
rights engine read them by sequence number. On PostgreSQL writers serialise on an advisory lock so that
sequence order is commit order and a reader's cursor never skips a late-committing lower number.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    CompoundSelect,
    Connection,
    Date,
    DateTime,
    Index,
    Select,
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
    lock_outbox(conn)
    return bulk_insert(conn, mutation_event, events)


def append_events_from(conn: Connection, query: Select[Any] | CompoundSelect[Any]) -> int:
    """Append the rows of ``query`` (columns EVENT_COLUMNS, in that order) inside the caller's transaction.

    For events the database can derive from rows the caller has just written (a bulk load's periods):
    they never travel through Python, which halves what a national load sends to the database.
    """
    lock_outbox(conn)
    result = conn.execute(mutation_event.insert().from_select(list(EVENT_COLUMNS), query))
    return int(result.rowcount)


def lock_outbox(conn: Connection) -> None:
    """Hold the outbox until the caller's transaction ends (PostgreSQL; SQLite has one writer anyway).

    A writer that wants to know which sequence numbers its events got takes it before reading the newest.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK_KEY})
