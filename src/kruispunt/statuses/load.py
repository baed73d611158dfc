"""Loading a source's status feed into the GSS buffer: validate whole, compare, record the differences.

Full mode: the file is everything the source delivers, so what it no longer contains is removed. Delta
mode: each period replaces the stored periods of its person, status and source that it overlaps. Either
way only differences are written (superseded rows, new rows, mutation events), in one transaction, so the
same file twice changes nothing and a rejected or killed load leaves the store as it was.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    bindparam,
    func,
    select,
    text,
    update,
)

from kruispunt.feeds import FeedRejected, file_sha256
from kruispunt.identity import person_number_keys
from kruispunt.statuses import snapshot
from kruispunt.statuses.catalogue import catalogue
from kruispunt.statuses.feed import ALL_SOURCES, ValidatedFeed, validate_status_feed
from kruispunt.statuses.outbox import append_status_events
from kruispunt.statuses.periods import KEY, Changes, delta_target, merge_periods, plan_changes
from kruispunt.statuses.sql import one_of_ids, one_of_text
from kruispunt.statuses.tables import status_load, status_period
from kruispunt.store import bulk_insert, indexes_deferred, lock_outbox, read_frame

Mode = Literal["full", "delta"]
STATUS_LOCK_KEY = 7_300_004
_LARGE_LOAD = 100_000  # inserted periods after which PostgreSQL's statistics are refreshed
_SMALL_DELTA = 5_000  # persons; a delta this small reads only its persons' periods
_NOTHING_STORED = pl.DataFrame(
    schema={
        "id": pl.Int64,
        "person_id": pl.Int64,
        "status": pl.String,
        "source": pl.String,
        "start_date": pl.Date,
        "end_date": pl.Date,
    }
)
_superseded_ids = Table("status_superseded_ids", MetaData(), Column("id", BigInteger))


@dataclass(frozen=True)
class StatusLoadReport:
    """What one load did. ``load_id`` is None when nothing changed (and nothing was written)."""

    file: str
    source: str
    mode: str
    rows: int
    rejected: int
    unknown_persons: int
    periods_added: int
    periods_superseded: int
    started: int
    ended: int
    corrected: int
    removed: int
    load_id: int | None

    @property
    def changed_anything(self) -> bool:
        return bool(self.periods_added or self.periods_superseded)

    @property
    def events(self) -> int:
        return self.started + self.ended + self.corrected + self.removed


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def load_status_feed(
    engine: Engine,
    path: Path,
    *,
    source: str,
    mode: Mode = "full",
    accept_partial: bool = False,
    rejects_path: Path | None = None,
) -> StatusLoadReport:
    """Load the status file ``path`` delivered by ``source`` (a catalogue source code).

    Every row must carry ``source``; ``source="*"`` loads a multi-source file, each row checked against
    its own source (full mode then replaces the deliveries of every source present in the file). A file
    with a wrong row is rejected whole (FeedRejected, nothing written) unless ``accept_partial``: then the
    good rows load and the wrong ones go to ``rejects_path`` with line, field and reason.
    """
    if mode not in ("full", "delta"):
        raise ValueError(f"mode must be 'full' or 'delta', not {mode!r}")
    cat = catalogue()
    if source != ALL_SOURCES:
        cat.source(source)
    numbers_seq = snapshot.outbox_position(engine)  # before the numbers are read: see snapshot.finish
    with ThreadPoolExecutor(max_workers=1) as reader:  # the register is read while the file is parsed
        reading = reader.submit(person_number_keys, engine)
        feed = validate_status_feed(path, source=source, numbers=reading, catalogue=cat)
        numbers = reading.result()
    if not feed.errors.is_empty() and not accept_partial:
        raise FeedRejected(feed.feed_errors())
    feed = feed.holding_back_related()
    if rejects_path is not None:
        feed.write_rejects(rejects_path)
    sources = [source] if source != ALL_SOURCES else sorted(feed.rows["source"].unique().to_list())
    with engine.begin() as conn:
        _lock(conn)
        was_empty = _highest_id(conn) == 0
        changes = _plan(conn, engine, feed, sources, mode, was_empty=was_empty)
        load_id = None
        if not changes.empty:
            now = _now()
            pending = snapshot.prepare(conn, changes, numbers, was_empty=was_empty)
            written = _apply(conn, changes, feed, (path, source, mode), now, was_empty=was_empty)
            lock_outbox(conn)
            before = snapshot.newest_seq(conn)
            append_status_events(conn, changes, now, (written.load_id, *written.started_ids))
            if pending is not None:
                after = snapshot.newest_seq(conn)
                snapshot.finish(conn, pending, snapshot.LoadSequence(numbers_seq, before, after))
            load_id = written.load_id
            _refresh_statistics(conn, changes)
    return _report(feed, source, mode, changes, load_id)


def _lock(conn: Connection) -> None:
    """One status writer at a time (SQLite's BEGIN IMMEDIATE already serialises writers)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STATUS_LOCK_KEY})


def _plan(
    conn: Connection, engine: Engine, feed: ValidatedFeed, sources: list[str], mode: Mode, *, was_empty: bool
) -> Changes:
    rows = feed.rows
    persons = rows["person_id"].unique()
    only = persons.to_list() if mode == "delta" and persons.len() <= _SMALL_DELTA else None
    # A first load needs no read (on SQLite a large read starts a process).
    current = _NOTHING_STORED if was_empty else current_periods(engine, sources, person_ids=only)
    # Keys with a rejected row stay as stored (their good rows were held back too).
    current = current.join(feed.held_back, on=["person_id", "status"], how="anti")
    if mode == "full":
        return plan_changes(current, merge_periods(rows))
    target = delta_target(current, rows)
    return plan_changes(current.join(target.select(KEY).unique(), on=list(KEY), how="semi"), target)


def current_periods(
    engine: Engine, sources: list[str], *, person_ids: list[int] | None = None
) -> pl.DataFrame:
    """The current (not superseded) periods delivered by ``sources``, with their row ids."""
    statement = select(
        status_period.c.id,
        status_period.c.person_id,
        status_period.c.status,
        status_period.c.source,
        status_period.c.start_date,
        status_period.c.end_date,
    ).where(status_period.c.superseded_at.is_(None), one_of_text(status_period.c.source, sources))
    if person_ids is not None:
        statement = statement.where(one_of_ids(status_period.c.person_id, person_ids))
    return read_frame(engine, statement, bulk=person_ids is None)


@dataclass(frozen=True)
class _Written:
    """The load's id and the first and last id of its started periods."""

    load_id: int
    started_ids: tuple[int, int]


def _apply(
    conn: Connection,
    changes: Changes,
    feed: ValidatedFeed,
    origin: tuple[Path, str, Mode],
    now: datetime,
    *,
    was_empty: bool,
) -> _Written:
    """Record the load, supersede and insert periods, all stamped ``now`` (``was_empty``: the period table
    held no row at all before the load)."""
    path, source, mode = origin
    key = conn.execute(
        status_load.insert().values(
            source=source,
            mode=mode,
            file_name=path.name,
            sha256=file_sha256(path),
            rows=feed.raw.height,
            rejected=feed.rejected_lines,
            loaded_at=now,
            periods_added=changes.inserted.height,
            periods_superseded=changes.superseded.height,
            events=_event_count(changes),
        )
    ).inserted_primary_key
    assert key is not None
    load_id = int(key[0])
    _supersede(conn, changes.superseded["id"], now)
    # Replacing periods first, then the started ones: the started periods are then the rows of this load
    # in one id range, which is all their outbox record needs to name (see outbox).
    _insert_periods(conn, changes.replacing, now, load_id)
    before = _highest_id(conn)
    large_first = was_empty and changes.inserted.height >= _LARGE_LOAD
    with indexes_deferred(conn, status_period, when=large_first):
        if large_first and conn.dialect.name == "postgresql":
            # The table holds no row: emptied in this transaction, it takes its rows frozen, so that
            # autovacuum finds nothing to do in them while the first lookups run (it would visit them all).
            conn.execute(text("TRUNCATE status_period"))
        _insert_periods(conn, changes.started, now, load_id, frozen=large_first)
    return _Written(load_id, (before + 1, _highest_id(conn)))


def _highest_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(status_period.c.id), 0))).scalar_one())


def _insert_periods(
    conn: Connection, periods: pl.DataFrame, now: datetime, load_id: int, *, frozen: bool = False
) -> None:
    # Sorted by person: the person index then grows in order instead of at random places (merged periods
    # come sorted already, and Polars knows it: the sort then costs nothing).
    bulk_insert(
        conn,
        status_period,
        periods.sort("person_id", maintain_order=True).select(
            *KEY,
            "start_date",
            "end_date",
            pl.lit(now).alias("recorded_at"),
            pl.lit(None, pl.Datetime("us")).alias("superseded_at"),
            pl.lit(load_id, pl.Int64).alias("load_id"),
        ),
        frozen=frozen,
    )


def _refresh_statistics(conn: Connection, changes: Changes) -> None:
    """After a large load, let PostgreSQL's planner know the table's new size before autovacuum does."""
    if conn.dialect.name == "postgresql" and changes.inserted.height >= _LARGE_LOAD:
        conn.execute(text("ANALYZE status_period"))


def _supersede(conn: Connection, ids: pl.Series, now: datetime) -> None:
    """Close the transaction time of rows ``ids``: by id list on SQLite, through COPY on PostgreSQL."""
    if ids.is_empty():
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("CREATE TEMPORARY TABLE status_superseded_ids (id bigint) ON COMMIT DROP"))
        bulk_insert(conn, _superseded_ids, ids.to_frame("id"))
        conn.execute(
            text(
                "UPDATE status_period SET superseded_at = :now "
                "FROM status_superseded_ids s WHERE status_period.id = s.id"
            ),
            {"now": now},
        )
        return
    conn.execute(
        update(status_period).where(status_period.c.id == bindparam("sid")).values(superseded_at=now),
        [{"sid": i} for i in ids.to_list()],
    )


def _event_count(changes: Changes) -> int:
    return changes.started.height + changes.other_events.height


def _report(
    feed: ValidatedFeed, source: str, mode: Mode, changes: Changes, load_id: int | None
) -> StatusLoadReport:
    kinds = changes.other_events["kind"].value_counts()
    count = dict(zip(kinds["kind"].to_list(), kinds["count"].to_list(), strict=True))
    count["status.started"] = changes.started.height
    return StatusLoadReport(
        file=feed.file,
        source=source,
        mode=mode,
        rows=feed.raw.height,
        rejected=feed.rejected_lines,
        unknown_persons=feed.unknown_persons,
        periods_added=changes.inserted.height,
        periods_superseded=changes.superseded.height,
        started=count.get("status.started", 0),
        ended=count.get("status.ended", 0),
        corrected=count.get("status.corrected", 0),
        removed=count.get("status.removed", 0),
        load_id=load_id,
    )
