"""A load's mutation events, written in the load's transaction, and the stream consumers read them from.

The periods a load starts (every period of a first national load) are recorded in the outbox as one
``status.bulk_started`` record naming the load and the id range ``first..last`` of those periods: writing
fifteen million event rows would cost a national load as much as writing its periods. The record stands
for a block of sequence numbers ending at its own (``store.append_block``). :func:`mutation_events`
shows the events of a range of numbers with such records expanded, in the database, to one
``status.started`` row per period numbered ``seq - last + period id``, so a consumer reads one row per
change, each with its own monotonic number, as before. Ended, corrected and removed events come from the plan
(:class:`periods.Changes`), one outbox row each. The detail JSON is the same for every status event:
``{"source": ..., "old": [periods], "new": period | null}``; the number shown is the person's current one
in the register when the stream is read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import (
    Column,
    ColumnElement,
    CompoundSelect,
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
from kruispunt.store import append_block, append_events_from, bulk_insert, mutation_event
from kruispunt.store.events import EVENT_COLUMNS

sp = status_period
STREAM_COLUMNS = ("seq", *EVENT_COLUMNS)

BULK_STARTED = "status.bulk_started"
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


@dataclass(frozen=True)
class Block:
    """A ``status.bulk_started`` record: the periods ``first..last`` of load ``load_id``, numbered up to
    ``seq``."""

    seq: int
    load_id: int
    first: int
    last: int

    def ids_within(self, after: int, upto: int) -> tuple[int, int]:
        """The period ids whose numbers lie in (``after``, ``upto``]."""
        return max(self.first, after - self.seq + self.last + 1), min(self.last, upto - self.seq + self.last)


def blocks_statement(after: int) -> Select[Any]:
    """The bulk records ending after ``after`` (few: one per load); see :func:`blocks`."""
    return select(mutation_event.c.seq, mutation_event.c.detail).where(
        mutation_event.c.seq > after, mutation_event.c.kind == BULK_STARTED
    )


def blocks(rows: Sequence[Any]) -> list[Block]:
    """The rows of :func:`blocks_statement` as blocks."""
    parsed = [(int(seq), json.loads(detail)) for seq, detail in rows]
    return [Block(seq, d["load"], d["first"], d["last"]) for seq, d in parsed]


def stream_statement(
    after: int, upto: int, found: list[Block], dialect: str
) -> Select[Any] | CompoundSelect[Any]:
    """Every mutation event numbered in (``after``, ``upto``], one row per change (columns
    :data:`STREAM_COLUMNS`); ``found`` are the blocks of :func:`blocks_statement` for ``after``.

    The id bounds of each block's periods are literals, so the database reads only the periods the
    range covers, through the primary key.
    """
    plain = select(*[mutation_event.c[c] for c in STREAM_COLUMNS]).where(
        mutation_event.c.seq > after, mutation_event.c.seq <= upto, mutation_event.c.kind != BULK_STARTED
    )
    parts: list[Select[Any]] = [plain]
    for block in found:
        low, high = block.ids_within(after, upto)
        if low <= high:
            parts.append(_started_rows(block, low, high, dialect))
    return plain if len(parts) == 1 else union_all(*parts)


def mutation_events(
    conn: Connection, after: int, upto: int | None = None
) -> Select[Any] | CompoundSelect[Any]:
    """The statement reading every mutation event numbered in (``after``, ``upto``], one row per change.

    ``upto`` must not exceed the newest committed number; by default it is that number, read on ``conn``.
    Rows come in no set order.
    """
    if upto is None:
        upto = int(conn.execute(select(func.coalesce(func.max(mutation_event.c.seq), 0))).scalar_one())
    found = blocks(conn.execute(blocks_statement(after)).all())
    return stream_statement(after, upto, found, conn.dialect.name)


def _started_rows(block: Block, low: int, high: int, dialect: str) -> Select[Any]:
    """``status.started`` rows of the block's periods with ids ``low..high``, the person's current number
    from the register."""
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
            (sp.c.id + (block.seq - block.last)).label("seq"),
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
        .where(sp.c.id.between(low, high), sp.c.load_id == block.load_id)
    )


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _iso(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """A date as ``YYYY-MM-DD`` text (SQLite stores it so already)."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return cast(column, String)


def _staged_with_numbers() -> Select[Any]:
    current = and_(person_number.c.person_id == _stage.c.person_id, person_number.c.replaced_at.is_(None))
    return select(
        *[person_number.c.insz.label(c) if c == "insz" else _stage.c[c].label(c) for c in EVENT_COLUMNS]
    ).select_from(_stage.outerjoin(person_number, current))
