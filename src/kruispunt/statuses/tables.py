"""GSS buffer tables, bitemporal.

A row of ``status_period`` is one period (valid time: ``start_date`` to ``end_date`` inclusive, NULL while
still running) as we knew it from ``recorded_at`` until ``superseded_at`` (transaction time, NULL while
current). History is never updated in place: a correction supersedes a row and inserts its successor, so
"what did we know on day D" keeps its answer after a source corrects itself.

``person_id`` carries no foreign key on purpose: the loader resolves every row through ``person_number``
before writing, and a per-row foreign-key check would halve the national load rate on PostgreSQL.
"""

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, LargeBinary, String, Table

from kruispunt.store import ID, metadata

status_load = Table(
    "status_load",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("source", String(20), nullable=False),
    Column("mode", String(5), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("rejected", BigInteger, nullable=False),
    Column("loaded_at", DateTime, nullable=False),
    Column("periods_added", BigInteger, nullable=False),
    Column("periods_superseded", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
)

status_period = Table(
    "status_period",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, nullable=False),
    Column("status", String(40), nullable=False),
    Column("source", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("superseded_at", DateTime, nullable=True),
    Column("load_id", BigInteger, nullable=False),
    Index("ix_status_period_person", "person_id"),
)

status_snapshot = Table(
    "status_snapshot",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("upto_seq", BigInteger, nullable=False),
    Column("periods", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
)
"""The current periods as an Arrow IPC file, exactly what the periods and mutation events said after event
``upto_seq``: see :mod:`kruispunt.statuses.snapshot`."""
