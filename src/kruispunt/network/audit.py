"""The audit log: every exchange, allowed or refused, in one append-only hash chain.

Each record's hash covers its own fields and the previous record's hash, so changing, removing or
inserting a record breaks the chain from that record on; ``audit_head`` holds the last sequence number and
hash, so cutting off the tail is detected too. Writers lock the head row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite transactions are ``BEGIN IMMEDIATE`` and so already exclusive), which keeps one chain
however many workers append. Retention removes a prefix of the chain and leaves its last hash as the
anchor from which verification starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from kruispunt.network.partners import now
from kruispunt.network.tables import audit_head, audit_record, exchange_reply, partner

GENESIS = "0" * 64
_CHUNK = 5_000


@dataclass(frozen=True)
class AuditEntry:
    """What is known of one exchange when it is logged (the chain adds seq, prev_hash and hash)."""

    recorded_at: datetime
    service: str
    outcome: str
    http_status: int
    request_digest: str
    hub_us: int
    partner_id: int | None = None
    requester: str | None = None
    message_id: str | None = None
    insz: str | None = None
    person_id: int | None = None
    end_user: str | None = None
    case_reference: str | None = None
    purpose: str | None = None
    deliberation: str | None = None
    capacity: int | None = None
    reason: str | None = None
    provider: str | None = None
    provider_us: int | None = None


_FIELDS = tuple(f.name for f in fields(AuditEntry))


def record_hash(seq: int, prev_hash: str, values: dict[str, object]) -> str:
    """SHA-256 over the previous hash, the sequence number and every field, in a fixed canonical form."""
    canonical: list[object] = [seq, prev_hash]
    for name in _FIELDS:
        value = values[name]
        canonical.append(value.isoformat(sep=" ") if isinstance(value, datetime) else value)
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode("utf-8")).hexdigest()


def chain(seq: int, previous: str, entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """The rows of ``entries`` chained after the head (``seq``, ``previous``), with every column."""
    rows = []
    for entry in entries:
        seq += 1
        values = dict(vars(entry))  # a flat dataclass: what asdict gives, without its deep copies
        digest = record_hash(seq, previous, values)
        rows.append({**values, "seq": seq, "prev_hash": previous, "hash": digest})
        previous = digest
    return rows


def append(conn: Connection, entries: Sequence[AuditEntry]) -> list[int]:
    """Chain ``entries`` onto the log inside the caller's transaction; returns their sequence numbers."""
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    rows = chain(int(head.seq), str(head.hash), entries)
    if not rows:
        return []
    conn.execute(audit_record.insert(), rows)
    last = rows[-1]
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=last["seq"], hash=last["hash"]))
    return [r["seq"] for r in rows]


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain: intact, or the first record that breaks it and why."""

    intact: bool
    records: int
    first_seq: int | None
    last_seq: int | None
    broken_seq: int | None = None
    problem: str | None = None


def _records(engine: Engine, after: int) -> Iterator[dict[str, object]]:
    while True:
        with engine.connect() as conn:
            chunk = (
                conn.execute(
                    select(audit_record)
                    .where(audit_record.c.seq > after)
                    .order_by(audit_record.c.seq)
                    .limit(_CHUNK)
                )
                .mappings()
                .all()
            )
        if not chunk:
            return
        yield from (dict(r) for r in chunk)
        after = int(str(chunk[-1]["seq"]))


def verify(engine: Engine) -> Verification:
    """Recompute the whole chain from the anchor; name the first broken record."""
    with engine.connect() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1)).one()
    expected_seq, previous, count, first = int(head.anchor_seq) + 1, str(head.anchor_hash), 0, None
    for row in _records(engine, int(head.anchor_seq)):
        seq = int(str(row["seq"]))
        first = first if first is not None else seq
        problem = None
        if seq != expected_seq:
            problem = f"record {expected_seq} is missing (the next record is {seq})"
        elif row["prev_hash"] != previous:
            problem = (
                "its previous-hash does not match the record before it (a record was removed or inserted)"
            )
        elif record_hash(seq, previous, row) != row["hash"]:
            problem = "its content does not match its hash (the record was altered)"
        if problem:
            return Verification(False, count, first, seq - 1 if count else None, expected_seq, problem)
        previous, expected_seq, count = str(row["hash"]), seq + 1, count + 1
    last = expected_seq - 1
    if last != int(head.seq) or previous != head.hash:
        return Verification(
            False, count, first, last, last + 1, f"the chain ends at {last} but its head says {head.seq}"
        )
    return Verification(True, count, first, last if count else None)


@dataclass(frozen=True)
class Consultation:
    """One line of a citizen's "who consulted my data" report."""

    seq: int
    at: datetime
    requester: str | None
    requester_name: str | None
    service: str
    purpose: str | None
    deliberation: str | None
    capacity: int | None
    case_reference: str | None
    outcome: str
    reason: str | None


def who_consulted(engine: Engine, person_id: int | None, insz: str) -> list[Consultation]:
    """Every exchange about a person (by any of their numbers when known), newest first."""
    condition = audit_record.c.insz == insz
    if person_id is not None:
        condition = or_(condition, audit_record.c.person_id == person_id)
    statement = (
        select(audit_record, partner.c.name)
        .join(partner, partner.c.id == audit_record.c.partner_id, isouter=True)
        .where(condition)
        .order_by(audit_record.c.seq.desc())
    )
    with engine.connect() as conn:
        return [
            Consultation(
                r.seq,
                r.recorded_at,
                r.requester,
                r.name,
                r.service,
                r.purpose,
                r.deliberation,
                r.capacity,
                r.case_reference,
                r.outcome,
                r.reason,
            )
            for r in conn.execute(statement)
        ]


@dataclass(frozen=True)
class Purge:
    records: int
    replies: int
    anchor_seq: int


def purge(engine: Engine, retention_days: int) -> Purge:
    """Remove records older than ``retention_days`` from the head of the chain, keeping it verifiable.

    Only a prefix is removed (records after the first young one stay even if old), and the last removed
    record's hash becomes the anchor. Stored replies for idempotent retries older than that go too.
    """
    if retention_days < 1:
        raise ValueError("retention is at least one day")
    cutoff = now() - timedelta(days=retention_days)
    with engine.begin() as conn:
        head = conn.execute(select(audit_head).where(audit_head.c.id == 1).with_for_update()).one()
        young = conn.execute(
            select(func.min(audit_record.c.seq)).where(audit_record.c.recorded_at >= cutoff)
        ).scalar_one()
        last_old = int(head.seq) if young is None else int(young) - 1
        if last_old <= int(head.anchor_seq):
            replies = conn.execute(
                delete(exchange_reply).where(exchange_reply.c.recorded_at < cutoff)
            ).rowcount
            return Purge(0, int(replies), int(head.anchor_seq))
        anchor_hash = conn.execute(
            select(audit_record.c.hash).where(audit_record.c.seq == last_old)
        ).scalar_one()
        removed = conn.execute(delete(audit_record).where(audit_record.c.seq <= last_old)).rowcount
        replies = conn.execute(delete(exchange_reply).where(exchange_reply.c.recorded_at < cutoff)).rowcount
        conn.execute(
            update(audit_head)
            .where(audit_head.c.id == 1)
            .values(anchor_seq=last_old, anchor_hash=anchor_hash)
        )
    return Purge(int(removed), int(replies), last_old)


def head(engine: Engine) -> tuple[int, str]:
    """The chain's last sequence number and hash (what an external witness would timestamp)."""
    with engine.connect() as conn:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
    return int(row.seq), str(row.hash)


def probe(engine: Engine) -> None:
    """Prove the log writable: chain a probe record in a transaction that is then rolled back.

    Raises the database's error when a record could not be appended (so ``/health`` reports it).
    """
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            append(conn, [AuditEntry(now(), "health", "probe", 200, GENESIS, 0)])
        finally:
            transaction.rollback()
