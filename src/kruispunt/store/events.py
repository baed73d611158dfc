"""The mutation outbox: every change to the register or the statuses, numbered in commit order.

Rooms append events in the same transaction as the change they describe; the exchange hub and the
rights engine read them by sequence number. On PostgreSQL writers serialise on an advisory lock so that
sequence order is commit order and a reader's cursor never skips a late-committing lower number.

A room may store many events of one kind as a single record that stands for a block of consecutive
sequence numbers, ending at its own (:func:`append_block`); the room then offers the reader that shows
the block one row per event (the statuses room's ``mutation_events``). Numbers stay unique and monotonic; a
block may leave some of its numbers unused, as a sequence may.
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
    func,
    select,
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


def append_block(conn: Connection, record: pl.DataFrame, size: int) -> int:
    """Append one event ``record`` (a one-row frame) that stands for ``size`` sequence numbers.

    The record takes the last number of the block, so that the next event follows the block; returns
    that number. Inside the caller's transaction, under the outbox lock.
    """
    if record.height != 1 or size < 1:
        raise ValueError("a block is one record standing for at least one sequence number")
    lock_outbox(conn)
    newest = conn.execute(select(func.coalesce(func.max(mutation_event.c.seq), 0))).scalar_one()
    seq = int(newest) + size
    bulk_insert(conn, mutation_event, record.with_columns(pl.lit(seq, pl.Int64).alias("seq")))
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('mutation_event', 'seq'), :seq)"), {"seq": seq}
        )
    return seq


def lock_outbox(conn: Connection) -> None:
    """Hold the outbox until the caller's transaction ends (PostgreSQL; SQLite has one writer anyway).

    A writer that wants to know which sequence numbers its events got takes it before reading the newest.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK_KEY})
