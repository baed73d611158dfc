"""A load's mutation events, written in the load's transaction, and the stream consumers read them from.

The periods a load starts (every period of a first national load) are recorded in the outbox as one
``status.bulk_started`` record naming the load and the id range ``first..last`` of those periods: writing
fifteen million event rows would cost a national load as much as writing its periods. The record stands
for a block of sequence numbers ending at its own (``store.append_block``); the view ``mutation_stream``
(migration 0011) shows every mutation event with such a record expanded, in the database, to one
``status.started`` row per period numbered ``seq - last + period id``, so a consumer reads one row per
change, each with its own monotonic number, as before. Ended, corrected and removed events come from the plan
(:class:`periods.Changes`), one outbox row each. The detail JSON is the same for every status event:
``{"source": ..., "old": [periods], "new": period | null}``; the number shown is the person's current one
in the register when the stream is read.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.types import BigInteger

from kruispunt.identity.tables import person_number
from kruispunt.statuses.periods import Changes
from kruispunt.store import append_block, append_events_from, bulk_insert
from kruispunt.store.events import EVENT_COLUMNS

BULK_STARTED = "status.bulk_started"
_ORDER = ("person_id", "subject", "effective_from")

mutation_stream = Table(
    "mutation_stream",
    MetaData(),  # a view (migration 0011), kept out of the shared metadata so nothing creates it as a table
    Column("seq", BigInteger),
    Column("recorded_at", DateTime),
    Column("kind", String(40)),
    Column("person_id", BigInteger),
    Column("insz", String(11)),
    Column("subject", String(40)),
    Column("effective_from", Date),
    Column("effective_to", Date),
    Column("detail", Text),
)
"""Every mutation event (status and register), one row per change, each with its own ``seq``."""

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


def append_status_events(
    conn: Connection, changes: Changes, now: datetime, started: tuple[int, int, int]
) -> None:
    """Every event of the load: its started periods as one record, then the others in (person, status,
    start) order.

    ``started`` is (load id, first id, last id) of the load's started periods. Planned events go through
    a temporary table, so that every event takes the person's number from the register inside the
    load's transaction (the number the snapshot of current periods follows).
    """
    if not changes.started.is_empty():
        load_id, first, last = started
        detail = {"load": load_id, "first": first, "last": last, "periods": changes.started.height}
        record = pl.DataFrame({"recorded_at": [now], "kind": [BULK_STARTED], "detail": [json.dumps(detail)]})
        append_block(conn, record, last - first + 1)
    others = changes.other_events
    if others.is_empty():
        return
    _stage.create(conn)
    bulk_insert(conn, _stage, others.select(pl.lit(now).alias("recorded_at"), *_stage.columns.keys()[1:]))
    append_events_from(conn, _staged_with_numbers().order_by(*[_stage.c[c] for c in _ORDER]))
    _stage.drop(conn)


def _staged_with_numbers() -> Select[Any]:
    current = and_(person_number.c.person_id == _stage.c.person_id, person_number.c.replaced_at.is_(None))
    return select(
        *[person_number.c.insz.label(c) if c == "insz" else _stage.c[c].label(c) for c in EVENT_COLUMNS]
    ).select_from(_stage.outerjoin(person_number, current))
