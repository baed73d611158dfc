"""A load's mutation events, written in the load's transaction.

``status.started`` events (every event of a first national load) are derived by the database from the
periods just written, with an INSERT ... SELECT: fifteen million events then never travel through Python.
Ended, corrected and removed events come from the plan (:class:`periods.Changes`). The detail JSON is the
same either way: ``{"source": ..., "old": [periods], "new": period | null}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Date,
    DateTime,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.types import BigInteger

from kruispunt.identity.tables import person_number
from kruispunt.statuses.periods import Changes
from kruispunt.statuses.tables import status_period
from kruispunt.store import append_events_from, bulk_insert
from kruispunt.store.events import EVENT_COLUMNS

sp = status_period
_ORDER = ("person_id", "subject", "effective_from")

_stage = Table(
    "status_event_stage",
    MetaData(),
    Column("recorded_at", DateTime),
    Column("kind", String(40)),
    Column("person_id", BigInteger),
    Column("subject", String(40)),
    Column("effective_from", Date),
    Column("effective_to", Date),
    Column("detail", Text),
    prefixes=["TEMPORARY"],
)


def append_status_events(conn: Connection, changes: Changes, now: datetime, started: tuple[int, int]) -> None:
    """Every event of the load, in (person, status, start) order.

    ``started`` is (load id, the highest period id before the load's started periods were inserted).
    Planned events go through a temporary table, so that every event takes the person's number from the
    register inside the load's transaction (the number the snapshot of current periods follows).
    """
    derived = started_events_query(*started, dialect=conn.dialect.name)
    others = changes.other_events
    if others.is_empty():
        append_events_from(conn, derived.order_by(sp.c.id))
        return
    _stage.create(conn)
    bulk_insert(conn, _stage, others.select(pl.lit(now).alias("recorded_at"), *_stage.columns.keys()[1:]))
    planned = _staged_with_numbers()
    query = union_all(derived, planned) if not changes.started.is_empty() else planned
    append_events_from(conn, query.order_by(*[literal_column(c) for c in _ORDER]))
    _stage.drop(conn)


def _staged_with_numbers() -> Select[Any]:
    current = and_(person_number.c.person_id == _stage.c.person_id, person_number.c.replaced_at.is_(None))
    return select(
        *[person_number.c.insz.label(c) if c == "insz" else _stage.c[c].label(c) for c in EVENT_COLUMNS]
    ).select_from(_stage.outerjoin(person_number, current))


def started_events_query(load_id: int, after: int, *, dialect: str) -> Select[Any]:
    """``status.started`` events of the periods of load ``load_id`` with an id above ``after``.

    The person's current INSZ comes from the register, as for planned events.
    """
    start, end = _iso(sp.c.start_date, dialect), _iso(sp.c.end_date, dialect)
    detail = (
        _text('{"source":"')
        + sp.c.source
        + _text('","old":[],"new":{"start":"')
        + start
        + _text('","end":')
        + func.coalesce(_text('"') + end + _text('"'), _text("null"))
        + _text("}}")
    )
    current_number = and_(person_number.c.person_id == sp.c.person_id, person_number.c.replaced_at.is_(None))
    return (
        select(
            sp.c.recorded_at.label("recorded_at"),
            literal_column("'status.started'", String).label("kind"),
            sp.c.person_id.label("person_id"),
            person_number.c.insz.label("insz"),
            sp.c.status.label("subject"),
            sp.c.start_date.label("effective_from"),
            sp.c.end_date.label("effective_to"),
            detail.label("detail"),
        )
        .select_from(sp.outerjoin(person_number, current_number))
        .where(sp.c.id > after, sp.c.load_id == load_id)
    )


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _iso(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """A date as ``YYYY-MM-DD`` text (SQLite stores it so already)."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return cast(column, String)
