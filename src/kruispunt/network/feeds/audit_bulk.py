"""Chain many audit records at once: the bulk path of the hub's audit log (batch lines, feed deliveries).

The records are the hub's own (:class:`kruispunt.network.audit.AuditEntry` fields, same hash formula), so
:func:`kruispunt.network.verify_audit` checks them like any other. Each record's canonical JSON is built
for the whole frame at once; only the chain itself (each hash covers the previous one) is a loop, over
ready-made strings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, select, update

from kruispunt.network.audit import AuditEntry
from kruispunt.network.tables import audit_head, audit_record
from kruispunt.store import bulk_insert

FIELDS = tuple(f.name for f in fields(AuditEntry))
_INTEGERS = {"http_status", "hub_us", "partner_id", "person_id", "capacity", "provider_us"}
_NEEDS_ESCAPE = r'[^\x20-\x7e]|["\\]'


def _json_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A text column as JSON. Plain printable ASCII without quotes or backslashes (codes, numbers, ids:
    nearly always) is only wrapped in quotes; otherwise ``json.dumps`` encodes the values that need it."""
    column = pl.col(name)
    values = frame[name]
    plain = not bool(values.str.contains(_NEEDS_ESCAPE).any())
    if plain:
        encoded = pl.concat_str(pl.lit('"'), column, pl.lit('"'))
    else:
        encoded = column.map_elements(json.dumps, return_dtype=pl.String)
    return pl.when(column.is_null()).then(pl.lit("null")).otherwise(encoded)


def _json_timestamp(name: str) -> pl.Expr:
    """``datetime.isoformat(sep=" ")``: microseconds only when there are some."""
    column = pl.col(name)
    text = (
        pl.when(column.dt.microsecond() == 0)
        .then(column.dt.strftime("%Y-%m-%d %H:%M:%S"))
        .otherwise(column.dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    )
    return pl.concat_str(pl.lit('"'), text, pl.lit('"'))


def _constant(frame: pl.DataFrame, name: str) -> str | None:
    """The JSON of a column holding one value throughout (encoded once), or None."""
    values = frame[name]
    if values.n_unique() != 1:
        return None
    value = values[0]
    if isinstance(value, datetime):
        return json.dumps(value.isoformat(sep=" "))
    return json.dumps(value)


def _canonical(frame: pl.DataFrame) -> pl.Series:
    parts = []
    for name in FIELDS:
        constant = _constant(frame, name)
        if constant is not None:
            parts.append(pl.lit(constant))
        elif name == "recorded_at":
            parts.append(_json_timestamp(name))
        elif name in _INTEGERS:
            parts.append(pl.col(name).cast(pl.String).fill_null("null"))
        else:
            parts.append(_json_text(frame, name))
    return frame.select(pl.concat_str(parts, separator=",").alias("canonical"))["canonical"]


def complete(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every AuditEntry column, missing ones null, typed as the table stores them."""
    columns = []
    for name in FIELDS:
        if name == "recorded_at":
            dtype: pl.DataType = pl.Datetime("us")
        else:
            dtype = pl.Int64() if name in _INTEGERS else pl.String()
        columns.append(pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name))
    return frame.select(columns)


@dataclass(frozen=True)
class Prepared:
    """Audit rows with their canonical JSON: everything but the chain, computed outside any transaction."""

    rows: pl.DataFrame
    canonical: list[str]


def prepare(frame: pl.DataFrame) -> Prepared:
    rows = complete(frame)
    return Prepared(rows, _canonical(rows).to_list() if rows.height else [])


def append_prepared(conn: Connection, prepared: Prepared) -> tuple[int, int]:
    """Chain prepared rows onto the log in the caller's transaction (the head row is locked first)."""
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    seq, previous = int(head.seq), str(head.hash)
    rows = prepared.rows
    if rows.is_empty():
        return seq, seq
    hashes, prevs = [], []
    sha256 = hashlib.sha256
    for offset, canonical in enumerate(prepared.canonical):
        prevs.append(previous)
        previous = sha256(f'[{seq + 1 + offset},"{previous}",{canonical}]'.encode()).hexdigest()
        hashes.append(previous)
    first = seq + 1
    chained = rows.with_columns(
        pl.int_range(first, first + rows.height, dtype=pl.Int64).alias("seq"),
        pl.Series("prev_hash", prevs, pl.String),
        pl.Series("hash", hashes, pl.String),
    )
    bulk_insert(conn, audit_record, chained)
    last = first + rows.height - 1
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=last, hash=previous))
    return first, last


def append_frame(conn: Connection, frame: pl.DataFrame) -> tuple[int, int]:
    """Chain every row of ``frame`` (AuditEntry columns) onto the log in the caller's transaction.

    Returns the first and last sequence numbers given (for an empty frame: the head, twice).
    """
    return append_prepared(conn, prepare(frame))
