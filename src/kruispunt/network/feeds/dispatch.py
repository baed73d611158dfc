"""Fan-out: mutation events from the outbox into the feeds of the partners entitled to them.

One round reads the next events after the dispatch cursor, joins them with subscriptions, deliberation
grants and integrations (and with municipal subscriptions and addresses) as frames, bulk-inserts the feed
entries and moves the cursor, all in one transaction: a killed dispatcher leaves the state of before and
the next run starts from the same event. An entry is unique per (partner, event), so nothing is doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from time import perf_counter

import polars as pl
from sqlalchemy import Connection, Engine, func, select, update

from kruispunt import statuses
from kruispunt.network.feed_tables import feed_dispatch, feed_entry
from kruispunt.network.feeds import entitlement, municipal
from kruispunt.network.partners import now
from kruispunt.store import bulk_insert, mutation_event, read_frame

ROUND_EVENTS = 250_000
ENTRY_COLUMNS = (
    "partner_id",
    "event_seq",
    "kind",
    "person_id",
    "insz",
    "subject",
    "effective_from",
    "effective_to",
    "detail",
    "capacity",
    "deliberation",
    "basis",
    "created_at",
)


@dataclass(frozen=True)
class DispatchReport:
    events: int
    entries: int
    partners: frozenset[int]
    last_event_seq: int
    seconds: float
    moved: bool = True


def _cursor(conn: Connection) -> int:
    return int(
        conn.execute(
            select(feed_dispatch.c.last_event_seq).where(feed_dispatch.c.id == 1).with_for_update()
        ).scalar_one()
    )


def _events(engine: Engine, after: int, upto: int) -> pl.DataFrame:
    """The events in (``after``, ``upto``], one row per change (a load's started periods expanded)."""
    with engine.connect() as conn:
        ms = statuses.mutation_events(conn, after, upto).subquery()
    statement = select(
        ms.c.seq,
        ms.c.recorded_at,
        ms.c.kind,
        ms.c.person_id,
        ms.c.insz,
        ms.c.subject,
        ms.c.effective_from,
        ms.c.effective_to,
        ms.c.detail,
    ).where(ms.c.person_id.is_not(None))
    return read_frame(engine, statement).with_columns(
        pl.col("seq").cast(pl.Int64), pl.col("person_id").cast(pl.Int64)
    )


def entries_for(engine: Engine, events: pl.DataFrame, day: date) -> pl.DataFrame:
    """The feed entries ``events`` give rise to, in event order, one per (partner, event)."""
    allowed = entitlement.grants(engine, day)
    parts = [
        part
        for part in (
            entitlement.by_integration(events, engine, day),
            municipal.by_residence(events, engine, allowed),
            municipal.moves(events, engine, allowed),
        )
        if not part.is_empty()
    ]
    if not parts:
        return pl.DataFrame()
    stamp = now()
    columns = [c for c in ENTRY_COLUMNS if c not in ("event_seq", "created_at")]
    merged = pl.concat([p.select("seq", *columns) for p in parts], how="vertical_relaxed")
    return (
        merged.unique(["partner_id", "seq"], keep="first", maintain_order=True)
        .sort("seq", "partner_id")
        .rename({"seq": "event_seq"})
        .with_columns(pl.lit(stamp).alias("created_at"), pl.col("capacity").cast(pl.Int64))
        .select(ENTRY_COLUMNS)
    )


def dispatch_round(engine: Engine, *, limit: int = ROUND_EVENTS, day: date | None = None) -> DispatchReport:
    """Fan out the next ``limit`` events after the cursor (by sequence number).

    The entries are computed first, then written with the cursor's move in one transaction that checks
    the cursor did not move meanwhile (another dispatcher): then nothing is written and the round is
    retried from the new position by :func:`dispatch`.
    """
    started = perf_counter()
    with engine.connect() as conn:
        after = int(
            conn.execute(select(feed_dispatch.c.last_event_seq).where(feed_dispatch.c.id == 1)).scalar_one()
        )
        newest = conn.execute(select(func.max(mutation_event.c.seq))).scalar()
    upto = min(int(newest or 0), after + limit)
    if upto <= after:
        return DispatchReport(0, 0, frozenset(), after, perf_counter() - started, moved=False)
    events = _events(engine, after, upto)
    entries = entries_for(engine, events, day or date.today())
    with engine.begin() as conn:
        if _cursor(conn) != after:
            return DispatchReport(0, 0, frozenset(), after, perf_counter() - started)
        bulk_insert(conn, feed_entry, entries)
        conn.execute(
            update(feed_dispatch)
            .where(feed_dispatch.c.id == 1)
            .values(last_event_seq=upto, dispatched_at=now())
        )
    partners = frozenset(entries["partner_id"].unique().to_list()) if entries.height else frozenset()
    return DispatchReport(events.height, entries.height, partners, upto, perf_counter() - started)


def dispatch(engine: Engine, *, day: date | None = None, limit: int = ROUND_EVENTS) -> DispatchReport:
    """Fan out every event not yet dispatched, round after round; one report over all rounds."""
    started = perf_counter()
    events = entries = 0
    partners: frozenset[int] = frozenset()
    while True:
        report = dispatch_round(engine, day=day, limit=limit)
        events += report.events
        entries += report.entries
        partners |= report.partners
        if not report.moved:
            return DispatchReport(events, entries, partners, report.last_event_seq, perf_counter() - started)
