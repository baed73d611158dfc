"""The pull feed: a partner reads its entries after a cursor and acknowledges what it processed.

Delivery is at least once: without ``after`` a read starts after the last acknowledged entry, so entries
read but not acknowledged come again. Entry ids are stable and increasing; receivers deduplicate on them.
Every entry handed out is written to the audit log (service ``mutations``), redeliveries included.
An acknowledgement only ever moves forward: acknowledging twice, or an older id, changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, func, select, update

from kruispunt.network.feed_tables import feed_cursor, feed_entry
from kruispunt.network.feeds.access import Caller, digest
from kruispunt.network.feeds.audit_bulk import append_frame
from kruispunt.network.partners import now
from kruispunt.network.reasons import Reason, Refused
from kruispunt.network.tables import partner

SERVICE = "mutations"
MAX_PAGE = 1000


@dataclass(frozen=True)
class Entry:
    id: int
    event_seq: int
    kind: str
    insz: str | None
    subject: str | None
    effective_from: date | None
    effective_to: date | None
    detail: Any
    capacity: int | None
    deliberation: str
    basis: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event_seq": self.event_seq,
            "kind": self.kind,
            "insz": self.insz,
            "subject": self.subject,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "detail": self.detail,
            "capacity": self.capacity,
            "deliberation": self.deliberation,
            "basis": self.basis,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class FeedPage:
    entries: list[Entry]
    after: int
    next_after: int
    acknowledged: int
    more: bool
    audit_first: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "after": self.after,
            "next_after": self.next_after,
            "acknowledged": self.acknowledged,
            "more": self.more,
            "entries": [e.as_json() for e in self.entries],
        }


@dataclass(frozen=True)
class Acknowledgement:
    acknowledged: int
    changed: bool


def acknowledged(conn: Connection, partner_id: int) -> int:
    value = conn.execute(
        select(feed_cursor.c.acked_id).where(feed_cursor.c.partner_id == partner_id)
    ).scalar()
    return int(value or 0)


def _entry(row: Any) -> Entry:
    return Entry(
        int(row.id),
        int(row.event_seq),
        row.kind,
        row.insz,
        row.subject,
        row.effective_from,
        row.effective_to,
        json.loads(row.detail) if row.detail else None,
        row.capacity,
        row.deliberation,
        row.basis,
        row.created_at,
    )


def backlog(engine: Engine) -> dict[str, int]:
    """Per partner (KBO number): feed entries it has not acknowledged yet. Read-only: delivers nothing.

    Partners without a pending entry are absent (count 0).
    """
    cursor = feed_cursor.c.acked_id
    statement = (
        select(partner.c.kbo, func.count(feed_entry.c.id).label("n"))
        .select_from(partner)
        .join(feed_entry, feed_entry.c.partner_id == partner.c.id)
        .outerjoin(feed_cursor, feed_cursor.c.partner_id == partner.c.id)
        .where(feed_entry.c.id > func.coalesce(cursor, 0))
        .group_by(partner.c.kbo)
    )
    with engine.connect() as conn:
        return {row.kbo: int(row.n) for row in conn.execute(statement)}


def entries_after(conn: Connection, partner_id: int, after: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(feed_entry)
            .where(feed_entry.c.partner_id == partner_id, feed_entry.c.id > after)
            .order_by(feed_entry.c.id)
            .limit(limit)
        ).all()
    )


def audit_deliveries(
    conn: Connection,
    caller_id: int,
    kbo: str,
    rows: list[Any],
    message_id: str | None,
    provider: str,
    **meta: Any,
) -> int | None:
    """One audit record per entry handed out; returns the first sequence number."""
    if not rows:
        return None
    frame = pl.DataFrame(
        {
            "insz": [r.insz for r in rows],
            "person_id": [r.person_id for r in rows],
            "capacity": [r.capacity for r in rows],
            "deliberation": [r.deliberation for r in rows],
            "message_id": [f"mut-{r.id}" for r in rows],
        },
        schema={
            "insz": pl.String,
            "person_id": pl.Int64,
            "capacity": pl.Int64,
            "deliberation": pl.String,
            "message_id": pl.String,
        },
    ).with_columns(
        pl.lit(now()).alias("recorded_at"),
        pl.lit(SERVICE).alias("service"),
        pl.lit("answered").alias("outcome"),
        pl.lit(200).alias("http_status"),
        pl.lit(digest(SERVICE, message_id, rows[0].id, rows[-1].id)).alias("request_digest"),
        pl.lit(0).alias("hub_us"),
        pl.lit(caller_id).alias("partner_id"),
        pl.lit(kbo).alias("requester"),
        pl.lit(provider).alias("provider"),
        *[pl.lit(v, pl.String).alias(k) for k, v in meta.items()],
    )
    return append_frame(conn, frame)[0]


def read_feed(engine: Engine, caller: Caller, after: int | None = None, limit: int = 100) -> FeedPage:
    """The caller's next entries after ``after`` (default: after its acknowledgement), audited."""
    if not 1 <= limit <= MAX_PAGE:
        raise Refused(Reason.INVALID_REQUEST, f"limit is between 1 and {MAX_PAGE}", field="limit")
    if after is not None and after < 0:
        raise Refused(Reason.INVALID_REQUEST, "after is an entry id (0 or more)", field="after")
    with engine.begin() as conn:
        acked = acknowledged(conn, caller.partner_id)
        start = acked if after is None else after
        rows = entries_after(conn, caller.partner_id, start, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        first = audit_deliveries(
            conn,
            caller.partner_id,
            caller.kbo,
            rows,
            caller.meta.message_id,
            "hub",
            end_user=caller.meta.end_user,
            case_reference=caller.meta.case_reference,
        )
    entries = [_entry(r) for r in rows]
    return FeedPage(entries, start, entries[-1].id if entries else start, acked, more, first)


def acknowledge(engine: Engine, caller: Caller, up_to: int) -> Acknowledgement:
    """Mark every entry up to ``up_to`` processed; an older or repeated acknowledgement changes nothing."""
    with engine.begin() as conn:
        newest = conn.execute(
            select(func.max(feed_entry.c.id)).where(feed_entry.c.partner_id == caller.partner_id)
        ).scalar()
        if up_to < 0 or up_to > int(newest or 0):
            raise Refused(
                Reason.INVALID_REQUEST,
                f"up_to {up_to} is not an entry of your feed (your newest entry is {int(newest or 0)})",
                field="up_to",
            )
        current = conn.execute(
            select(feed_cursor.c.acked_id)
            .where(feed_cursor.c.partner_id == caller.partner_id)
            .with_for_update()
        ).scalar()
        if current is None:
            conn.execute(
                feed_cursor.insert().values(partner_id=caller.partner_id, acked_id=up_to, acked_at=now())
            )
            return Acknowledgement(up_to, up_to > 0)
        if up_to <= int(current):
            return Acknowledgement(int(current), False)
        conn.execute(
            update(feed_cursor)
            .where(feed_cursor.c.partner_id == caller.partner_id)
            .values(acked_id=up_to, acked_at=now())
        )
    return Acknowledgement(up_to, True)
