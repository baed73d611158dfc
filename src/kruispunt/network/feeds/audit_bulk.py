"""Chain many audit records at once: the bulk path of the hub's audit log (batch lines, feed deliveries).

The records are the hub's own (:class:`kruispunt.network.audit.AuditEntry` fields, same hash formula), so
:func:`kruispunt.network.verify_audit` checks them like any other. A record's hash covers
``[seq, prev_hash, field, ...]`` as compact JSON; everything but ``seq`` and ``prev_hash`` is known before
the chain's head is locked, so the fields' JSON is built for the whole frame at once (:func:`prepare`,
outside any transaction) and the chain itself is a tight loop of ``sha256`` over ready-made bytes.

Columns holding one value throughout (the service, the requester, the purpose of a batch...) are kept
apart as constants: encoded once, written as SQL literals on SQLite and never turned into a Python object
per row. The writer takes the chain's head row as the hub's writer does (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the transaction is ``BEGIN IMMEDIATE``), so bulk and single records form one chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, String, literal, select, update
from sqlalchemy.dialects import sqlite

from kruispunt.network.audit import AuditEntry
from kruispunt.network.tables import audit_head, audit_record
from kruispunt.store import bulk_insert

FIELDS = tuple(f.name for f in fields(AuditEntry))
_INTEGERS = {"http_status", "hub_us", "partner_id", "person_id", "capacity", "provider_us"}
_NEEDS_ESCAPE = r'[^\x20-\x7e]|["\\]'
# How SQLAlchemy stores a DateTime in SQLite, in Python's and in Polars' (chrono's) spelling.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_TIME_POLARS = "%Y-%m-%d %H:%M:%S.%6f"
_SQLITE = sqlite.dialect()


def _json_text(values: pl.Series) -> pl.Expr:
    """A text column as JSON. Plain printable ASCII without quotes or backslashes (codes, numbers, ids:
    nearly always) is only wrapped in quotes; otherwise ``json.dumps`` encodes the values that need it."""
    column = pl.col(values.name)
    if bool(values.str.contains(_NEEDS_ESCAPE).any()):
        encoded = column.map_elements(json.dumps, return_dtype=pl.String)
    else:
        encoded = pl.concat_str(pl.lit('"'), column, pl.lit('"'))
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


def _json_value(value: Any) -> str:
    return json.dumps(value.isoformat(sep=" ") if isinstance(value, datetime) else value)


def _dtype(name: str) -> pl.DataType:
    if name == "recorded_at":
        return pl.Datetime("us")
    return pl.Int64() if name in _INTEGERS else pl.String()


@dataclass(frozen=True)
class Prepared:
    """Audit records with their fields' JSON: everything but the chain, computed outside any transaction.

    ``rows`` holds the columns that vary from record to record, ``constants`` the others (every
    AuditEntry field is in one of the two); ``canonical`` is, per record, the JSON of its fields in
    AuditEntry order followed by the closing bracket of the hashed array. ``values``, when asked for, are
    the varying columns as Python lists ready for ``executemany``, made before the chain's head is locked.
    """

    rows: pl.DataFrame
    constants: dict[str, Any]
    canonical: list[bytes]
    values: list[list[Any]] | None = None

    @property
    def height(self) -> int:
        return len(self.canonical)


def prepare(
    frame: pl.DataFrame, constants: Mapping[str, Any] | None = None, *, values: bool = False
) -> Prepared:
    """Records from ``frame`` (AuditEntry columns) and ``constants`` (field -> value for every record).

    Fields in neither are null. Without ``constants``, columns holding one value throughout are found.
    ``values``: also make the Python values an SQLite insert binds.
    """
    if frame.is_empty():
        return Prepared(frame, {}, [])
    given = dict(constants or {})
    if constants is None:
        given.update({n: frame[n][0] for n in frame.columns if frame[n].n_unique() == 1})
    varying = [n for n in FIELDS if n in frame.columns and n not in given]
    if not varying:  # one column stays a column: it carries the number of records
        varying = [next(n for n in FIELDS if n in frame.columns)]
        given.pop(varying[0], None)
    given.update({n: None for n in FIELDS if n not in frame.columns and n not in given})
    rows = frame.select(pl.col(n).cast(_dtype(n)) for n in varying)
    parts = []
    for name in FIELDS:
        if name in given:
            parts.append(pl.lit(_json_value(given[name])))
        elif name == "recorded_at":
            parts.append(_json_timestamp(name))
        elif name in _INTEGERS:
            parts.append(pl.col(name).cast(pl.String).fill_null("null"))
        else:
            parts.append(_json_text(rows[name]))
    canonical = rows.select(
        pl.concat_str([pl.concat_str(parts, separator=","), pl.lit("]")]).cast(pl.Binary).alias("c")
    )["c"]
    return Prepared(rows, given, canonical.to_list(), _values(rows) if values else None)


def _values(rows: pl.DataFrame) -> list[list[Any]]:
    if "recorded_at" in rows.columns:
        rows = rows.with_columns(pl.col("recorded_at").dt.strftime(_SQLITE_TIME_POLARS))
    return [rows[name].to_list() for name in rows.columns]


def _chain(first: int, previous: str, canonical: list[bytes]) -> list[str]:
    """The records' hashes: sha256 of ``[seq,"prev_hash",fields...]``, each covering the one before."""
    sha256 = hashlib.sha256
    hashes: list[str] = []
    append = hashes.append
    prev = previous.encode()
    for seq, body in enumerate(canonical, first):
        digest = sha256(b'[%d,"%b",%b' % (seq, prev, body)).hexdigest()
        append(digest)
        prev = digest.encode()
    return hashes


def append_prepared(conn: Connection, prepared: Prepared) -> tuple[int, int]:
    """Chain prepared records onto the log in the caller's transaction (the head row is locked first).

    Returns the first and last sequence numbers given (for no records: the head, twice).
    """
    head = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1).with_for_update()
    ).one()
    seq, previous = int(head.seq), str(head.hash)
    if not prepared.height:
        return seq, seq
    first, last = seq + 1, seq + prepared.height
    hashes = _chain(first, previous, prepared.canonical)
    if conn.dialect.name == "sqlite":
        _insert_sqlite(conn, prepared, first, [previous, *hashes[:-1]], hashes)
    else:
        _insert_copy(conn, prepared, first, [previous, *hashes[:-1]], hashes)
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=last, hash=hashes[-1]))
    return first, last


def _sqlite_literal(value: Any) -> str:
    """A constant as an SQLite literal, quoted by SQLAlchemy's own literal rendering."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int):
        return str(int(value))
    text = value.strftime(_SQLITE_TIME) if isinstance(value, datetime) else str(value)
    return str(literal(text, String()).compile(dialect=_SQLITE, compile_kwargs={"literal_binds": True}))


def _insert_sqlite(
    conn: Connection, prepared: Prepared, first: int, prevs: list[str], hashes: list[str]
) -> None:
    """``executemany`` of plain tuples holding only the varying columns; constants are literals."""
    rows = prepared.rows
    varying = ["seq", *rows.columns, "prev_hash", "hash"]
    names = varying + list(prepared.constants)
    values = [f"?{i}" for i in range(1, len(varying) + 1)]
    values += [_sqlite_literal(v) for v in prepared.constants.values()]
    sql = f'INSERT INTO "{audit_record.name}" ({", ".join(names)}) VALUES ({", ".join(values)})'  # noqa: S608 (names from the schema, values quoted)
    columns = prepared.values if prepared.values is not None else _values(rows)
    seqs = range(first, first + len(hashes))
    conn.exec_driver_sql(sql, list(zip(seqs, *columns, prevs, hashes, strict=True)))


def _insert_copy(
    conn: Connection, prepared: Prepared, first: int, prevs: list[str], hashes: list[str]
) -> None:
    """COPY on PostgreSQL: the constants are filled in by Polars, in its own threads."""
    frame = prepared.rows.with_columns(
        pl.int_range(first, first + len(hashes), dtype=pl.Int64).alias("seq"),
        pl.Series("prev_hash", prevs, pl.String),
        pl.Series("hash", hashes, pl.String),
        *[pl.lit(value, _dtype(name)).alias(name) for name, value in prepared.constants.items()],
    )
    bulk_insert(conn, audit_record, frame)


def append_frame(conn: Connection, frame: pl.DataFrame) -> tuple[int, int]:
    """Chain every row of ``frame`` (AuditEntry columns) onto the log in the caller's transaction.

    Returns the first and last sequence numbers given (for an empty frame: the head, twice).
    """
    return append_prepared(conn, prepare(frame))
