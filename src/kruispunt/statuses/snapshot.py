"""A columnar snapshot of the current periods, kept exact through the mutation sequence.

Reading every current period back out of the database costs seconds per million rows (SQLite hands rows
over one at a time; both engines must join each period to the person's current number). The snapshot is
the frame :func:`queries.periods_frame` returns, stored as an Arrow IPC file in ``status_snapshot`` with
the sequence number of the last mutation event it reflects. It is exact because every change to a
current period or to a person's current number is a mutation event in the same transaction:

- ``status.started`` / ``ended`` / ``corrected`` / ``removed`` name, in their detail, the periods of their
  key that stop being current (``old``) and the one that becomes current (``new``);
- every status event and ``register.number_replaced`` carry the person's current number at that point of
  the sequence, so the last of them per person is the number to show.

A reader takes the stored snapshot and the events after it in one consistent read and applies them. A
large load brings the stored snapshot forward in its own transaction from the changes it just wrote; a
reader that finds no usable snapshot reads the tables directly and stores what it read when no event
committed meanwhile.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, Select, delete, func, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError

from kruispunt.identity import number_text
from kruispunt.statuses import outbox
from kruispunt.statuses.periods import KEY, Changes
from kruispunt.statuses.tables import status_snapshot
from kruispunt.store import mutation_event

SCHEMA: dict[str, Any] = {
    "person_id": pl.Int64,
    "insz": pl.String,
    "status": pl.String,
    "start_date": pl.Date,
    "end_date": pl.Date,
    "source": pl.String,
}
NUMBER_REPLACED = "register.number_replaced"
TAIL_LIMIT = 2_000_000  # outbox records; beyond this a direct read is cheaper than replaying them
REFRESH_FROM = 50_000  # events; a reader that replayed this many stores the result
MAINTAIN_FROM = 20_000  # changed periods; smaller loads leave the replay to readers

_PERIOD = pl.Struct({"start": pl.String, "end": pl.String})
_DETAIL = pl.Struct({"source": pl.String, "old": pl.List(_PERIOD), "new": _PERIOD})
_IDENTITY = [*KEY, "start_date", "end_date"]
_TAIL_SCHEMA: dict[str, Any] = {
    "seq": pl.Int64,
    "kind": pl.String,
    "person_id": pl.Int64,
    "insz": pl.String,
    "subject": pl.String,
    "detail": pl.String,
}
me = mutation_event
# The newest by sequence: two readers storing at once may leave two rows, each exact for its number.
_NEWEST_FIRST = (status_snapshot.c.upto_seq.desc(), status_snapshot.c.id.desc())
_STORED = select(status_snapshot.c.upto_seq, status_snapshot.c.data).order_by(*_NEWEST_FIRST).limit(1)


@dataclass(frozen=True)
class Snapshot:
    """The current periods (:data:`SCHEMA`) after mutation event ``upto_seq``."""

    upto_seq: int
    periods: pl.DataFrame


def empty_periods() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def _encode(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="lz4")
    return buffer.getvalue()


def _decode(data: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(data))


# --- applying events -------------------------------------------------------------------------------


def apply_events(periods: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """``periods`` after ``events`` (columns as :data:`_TAIL_SCHEMA`, any order of rows)."""
    if events.is_empty():
        return periods
    status = events.filter(pl.col("kind").str.starts_with("status."))
    touched = status.select("person_id").unique()
    kept = periods.join(touched, on="person_id", how="anti")
    changed = _replay(periods.join(touched, on="person_id", how="semi"), status)
    return _with_latest_numbers(pl.concat([kept, changed]), events)


def _replay(periods: pl.DataFrame, status: pl.DataFrame) -> pl.DataFrame:
    """A period an event names is current when the last event naming it added it (``new``), not when it
    dropped it (``old``); periods no event names stay as they were."""
    parsed = status.with_columns(pl.col("detail").str.json_decode(_DETAIL).alias("_d"))
    detail = pl.col("_d").struct.field
    added = parsed.filter(detail("new").is_not_null()).select(
        "seq",
        "person_id",
        "insz",
        pl.col("subject").alias("status"),
        detail("source").alias("source"),
        *_dates(detail("new")),
        pl.lit(value=True).alias("_add"),
    )
    dropped = (
        parsed.select("seq", "person_id", pl.col("subject").alias("status"), detail("source"), detail("old"))
        .explode("old")
        .filter(pl.col("old").is_not_null())
        .select(
            "seq",
            "person_id",
            pl.lit(None, pl.String).alias("insz"),
            "status",
            "source",
            *_dates(pl.col("old")),
            pl.lit(value=False).alias("_add"),
        )
    )
    touches = pl.concat([added, dropped], how="vertical_relaxed")
    last = touches.sort("seq").group_by(_IDENTITY).agg(pl.col("_add").last(), pl.col("insz").last())
    untouched = periods.join(last.select(_IDENTITY), on=_IDENTITY, how="anti", nulls_equal=True)
    return pl.concat([untouched, last.filter(pl.col("_add")).select(list(SCHEMA))])


def _dates(period: pl.Expr) -> list[pl.Expr]:
    return [
        period.struct.field("start").str.to_date("%Y-%m-%d").alias("start_date"),
        period.struct.field("end").str.to_date("%Y-%m-%d").alias("end_date"),
    ]


def _with_latest_numbers(periods: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Each person's number as the last status or number-replaced event about them says."""
    followed = events.filter(
        pl.col("person_id").is_not_null()
        & (pl.col("kind").str.starts_with("status.") | (pl.col("kind") == NUMBER_REPLACED))
    )
    if followed.is_empty():
        return periods
    latest = followed.sort("seq").group_by("person_id").agg(pl.col("insz").last().alias("_latest"))
    joined = periods.join(latest.with_columns(pl.lit(value=True).alias("_has")), on="person_id", how="left")
    return joined.with_columns(
        pl.when(pl.col("_has")).then(pl.col("_latest")).otherwise(pl.col("insz")).alias("insz")
    ).select(list(SCHEMA))


def apply_changes(periods: pl.DataFrame, changes: Changes, numbers: pl.DataFrame) -> pl.DataFrame:
    """``periods`` after a load's ``changes``; inserted periods take their number from ``numbers``
    (:func:`identity.person_number_keys`)."""
    current = numbers.filter(pl.col("current")).select(
        pl.col("person_id").cast(pl.Int64), number_text(pl.col("number")).alias("insz")
    )
    kept = periods.join(changes.superseded.select(_IDENTITY), on=_IDENTITY, how="anti", nulls_equal=True)
    added = changes.inserted.join(current, on="person_id", how="left").select(list(SCHEMA))
    return pl.concat([kept, added])


# --- the stored snapshot and the events after it ---------------------------------------------------


def read_stored(conn: Connection) -> Snapshot | None:
    if conn.dialect.name == "postgresql":
        rows = _run_binary(conn, _STORED)
        return Snapshot(int(rows[0][0]), _decode(rows[0][1])) if rows else None
    row = conn.execute(_STORED).first()
    return None if row is None else Snapshot(int(row.upto_seq), _decode(row.data))


def _run_binary(conn: Connection, statement: Select[Any]) -> Sequence[Any]:
    """Rows in PostgreSQL's binary format: psycopg would otherwise hand a snapshot over hex-encoded
    (national: 2.7 s against 0.9 s)."""
    compiled = statement.compile(dialect=conn.dialect)
    raw: Any = conn.connection.driver_connection
    with raw.cursor(binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        rows: Sequence[Any] = cursor.fetchall()
        return rows


def store(conn: Connection, snapshot: Snapshot) -> None:
    """Replace the stored snapshot, in the caller's transaction."""
    _write(conn, snapshot.upto_seq, snapshot.periods.height, _encode(snapshot.periods))


def _write(conn: Connection, upto_seq: int, periods: int, data: bytes) -> None:
    conn.execute(delete(status_snapshot))
    values = (upto_seq, periods, datetime.now(UTC).replace(tzinfo=None), data)
    if conn.dialect.name == "postgresql":
        # One binary COPY row: a national snapshot (263 MB) as a statement parameter takes 10-17 s to
        # reach the server (hex-encoded by SQLAlchemy, or even as one binary parameter); COPY takes 1.7 s.
        raw: Any = conn.connection.driver_connection
        statement = "COPY status_snapshot (upto_seq, periods, created_at, data) FROM STDIN (FORMAT binary)"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(["int8", "int8", "timestamp", "bytea"])
            copy.write_row(values)
        return
    conn.execute(
        status_snapshot.insert().values(
            dict(zip(("upto_seq", "periods", "created_at", "data"), values, strict=True))
        )
    )


def _tail_statement(after: int, upto: int, found: list[outbox.Block], dialect: str) -> Select[Any]:
    """The status and number events numbered in (``after``, ``upto``], a load's started periods one row
    each; ``found``: the bulk records after ``after`` (:func:`outbox.blocks_statement`)."""
    ms = outbox.stream_statement(after, upto, found, dialect).subquery()
    return (
        select(ms.c.seq, ms.c.kind, ms.c.person_id, ms.c.insz, ms.c.subject, ms.c.detail)
        .where(or_(ms.c.kind.like("status.%"), ms.c.kind == NUMBER_REPLACED))
        .order_by(ms.c.seq)
    )


def _frame(rows: Sequence[Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=_TAIL_SCHEMA, orient="row")


def tail_events(conn: Connection, after: int, upto: int) -> pl.DataFrame:
    found = outbox.blocks(conn.execute(outbox.blocks_statement(after)).all())
    return _frame(conn.execute(_tail_statement(after, upto, found, conn.dialect.name)).all())


def newest_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(me.c.seq), 0))).scalar_one())


# --- readers ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    stored: Snapshot | None
    newest: int
    tail: pl.DataFrame | None


def current(engine: Engine) -> pl.DataFrame | None:
    """The current periods from the stored snapshot and the events after it; None without a usable one."""
    view = _consistent_view(engine)
    if view.stored is None or view.tail is None:
        return None
    periods = apply_events(view.stored.periods, view.tail)
    if view.tail.height >= REFRESH_FROM:
        _store_if_newer(engine, Snapshot(view.newest, periods))
    return periods


def _consistent_view(engine: Engine) -> _View:
    """The stored snapshot and the events after it, read in one snapshot of the database."""
    with _read_only(engine) as run:
        row = run(_STORED)
        newest = int(run(select(func.coalesce(func.max(me.c.seq), 0)))[0][0])
        if not row:
            return _View(None, newest, None)
        stored = Snapshot(int(row[0][0]), _decode(row[0][1]))
        if newest - stored.upto_seq > TAIL_LIMIT:
            return _View(stored, newest, None)
        found = outbox.blocks(run(outbox.blocks_statement(stored.upto_seq)))
        tail = run(_tail_statement(stored.upto_seq, newest, found, engine.dialect.name))
        return _View(stored, newest, _frame(tail))


@contextmanager
def _read_only(engine: Engine) -> Iterator[Any]:
    """A function running statements in one read transaction that sees a single committed state.

    PostgreSQL: REPEATABLE READ. SQLite: a deferred transaction on the raw connection (the engine opens
    every SQLAlchemy transaction with BEGIN IMMEDIATE, which would wait for a running load).
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            yield lambda statement: _run_binary(conn, statement)
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")

        def run(statement: Select[Any]) -> Sequence[Any]:
            compiled = statement.compile(dialect=sqlite.dialect(paramstyle="qmark"))
            cursor.execute(str(compiled), [compiled.params[n] for n in compiled.positiontup or []])
            rows: Sequence[Any] = cursor.fetchall()
            return rows

        yield run
        cursor.execute("COMMIT")
        cursor.close()
    finally:
        raw.close()


def outbox_position(engine: Engine) -> int:
    """The newest mutation event's number, read without waiting for a writer."""
    with _read_only(engine) as run:
        return int(run(select(func.coalesce(func.max(me.c.seq), 0)))[0][0])


def store_if_consistent(engine: Engine, seq_before: int, periods: pl.DataFrame) -> None:
    """Store ``periods`` read directly as the snapshot after ``seq_before``, if no event came since."""
    if outbox_position(engine) == seq_before:
        _store_if_newer(engine, Snapshot(seq_before, periods))


def _store_if_newer(engine: Engine, snapshot: Snapshot) -> None:
    """Best effort: a reader never waits long for a writer just to save the next reader some work."""
    try:
        with engine.begin() as conn:
            stored = conn.execute(select(func.max(status_snapshot.c.upto_seq))).scalar()
            if stored is None or stored < snapshot.upto_seq:
                store(conn, snapshot)
    except OperationalError:
        return


# --- the loader ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSequence:
    """Where a load sits in the mutation sequence.

    ``numbers_seq``: the newest event when the loader read the register's numbers; ``before``/``after``:
    the newest event before and after the load appended its own (it holds the outbox lock meanwhile).
    """

    numbers_seq: int
    before: int
    after: int


@dataclass(frozen=True)
class PendingSnapshot:
    """The snapshot a load leaves, from the state after event ``base_seq``: ``result`` gives its periods
    and their encoding.

    They are computed in a thread while the load writes its periods. The writing is mostly another
    process's work (PostgreSQL's server; on SQLite the staging child) or SQLite's C code, which releases
    the interpreter, and leaves a core free for part of the time (SQLite's index build, its commit).
    """

    base_seq: int
    result: Callable[[], tuple[pl.DataFrame, bytes]]


def prepare(
    conn: Connection, changes: Changes, numbers: pl.DataFrame, *, was_empty: bool
) -> PendingSnapshot | None:
    """Start computing the snapshot a large load brings forward; None when it leaves the snapshot alone.

    Called after the load took the status lock and before it writes: no status event can come between
    what this reads and the load's own events, only register events, which :func:`finish` applies.
    """
    changed = changes.inserted.height + changes.superseded.height
    seq = newest_seq(conn)
    # Decide from the stored snapshot's number and size before reading it: a small load leaves it.
    head = conn.execute(
        select(status_snapshot.c.upto_seq, status_snapshot.c.periods).order_by(*_NEWEST_FIRST).limit(1)
    ).first()
    if head is None:
        if not was_empty:
            return None  # periods from before any snapshot: the next reader reads them directly
        base = empty_periods()
    else:
        if head.upto_seq > seq or seq - head.upto_seq > TAIL_LIMIT:
            return None
        if changed < max(MAINTAIN_FROM, head.periods // 100):
            return None
        stored = read_stored(conn)
        assert stored is not None
        base = apply_events(stored.periods, tail_events(conn, stored.upto_seq, seq))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
    computing = pool.submit(_computed, base, changes, numbers)
    pool.shutdown(wait=False)
    return PendingSnapshot(seq, computing.result)


def _computed(base: pl.DataFrame, changes: Changes, numbers: pl.DataFrame) -> tuple[pl.DataFrame, bytes]:
    periods = apply_changes(base, changes, numbers)
    return periods, _encode(periods)


def finish(conn: Connection, pending: PendingSnapshot, sequence: LoadSequence) -> None:
    """Store the computed snapshot as the state after the load's last event, inside its transaction."""
    periods, data = pending.result()
    # A number replaced after the loader read the register: the events say which one is current.
    replaced = tail_events(conn, min(sequence.numbers_seq, pending.base_seq), sequence.before)
    replaced = replaced.filter(pl.col("kind") == NUMBER_REPLACED)
    if not replaced.is_empty():
        periods = _with_latest_numbers(periods, replaced)
        data = _encode(periods)
    _write(conn, sequence.after, periods.height, data)
