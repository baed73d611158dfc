"""Questions to the GSS buffer, in valid time (``at``, ``period``) and transaction time (``known_at``).

``known_at`` answers "what did we know then": the rows recorded by that moment and not yet superseded.
Without it, the current knowledge is used. Person lookups join through ``person_number``, so any of a
person's numbers (current, or a replaced BIS number) answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Date, DateTime, Engine, Select, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from kruispunt.identity import Insz, municipality
from kruispunt.identity.tables import address, person_number
from kruispunt.statuses import snapshot
from kruispunt.statuses.catalogue import catalogue
from kruispunt.statuses.sql import one_of_ids, one_of_text
from kruispunt.statuses.tables import status_period
from kruispunt.store import read_frame, sqlite_value

sp = status_period


class UnknownPerson(LookupError):
    """No person in the register has this number."""


@dataclass(frozen=True)
class StatusPeriod:
    """One period of one status of a person, as delivered by ``source`` and recorded at ``recorded_at``."""

    status: str
    start_date: date
    end_date: date | None
    source: str
    recorded_at: datetime
    superseded_at: datetime | None

    def covers(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    @property
    def label(self) -> str:
        return catalogue().status(self.status).label("en")


def known(known_at: datetime | None) -> ColumnElement[bool]:
    """Rows that were current knowledge at ``known_at`` (now when None)."""
    if known_at is None:
        return sp.c.superseded_at.is_(None)
    return and_(
        sp.c.recorded_at <= known_at, or_(sp.c.superseded_at.is_(None), sp.c.superseded_at > known_at)
    )


def _valid_between(first: date, last: date) -> ColumnElement[bool]:
    return and_(sp.c.start_date <= last, or_(sp.c.end_date.is_(None), sp.c.end_date >= first))


def person_statuses(
    engine: Engine,
    insz: str,
    *,
    at: date | None = None,
    period: tuple[date, date] | None = None,
    known_at: datetime | None = None,
) -> list[StatusPeriod]:
    """A person's status periods valid on ``at``, or overlapping ``period``, or all of them.

    Ordered by start date and status. Raises InvalidNumber for a malformed number and UnknownPerson when
    the register does not know it.
    """
    if at is not None and period is not None:
        raise ValueError("give either at or period, not both")
    number = Insz.parse(insz).number
    first, last = (at, at) if at is not None else period if period is not None else (None, None)
    params = {"number": number, "first": first, "last": last, "known_at": known_at}
    shape = (first is not None, known_at is not None)
    if engine.dialect.name == "postgresql":
        rows: Sequence[Any] = _postgresql_lookup(engine, shape, params)
    else:
        rows = _sqlite_lookup(engine, shape, params)
    if not rows:
        raise UnknownPerson(f"{Insz.parse(number).formatted} is not in the register")
    return [StatusPeriod(*row) for row in rows if row[0] is not None]


@cache
def _lookup(dated: bool, as_known: bool) -> Select[Any]:
    """The lookup of one shape, built once (bound parameters: number, first, last, known_at).

    One round trip: the outer join yields a row (with NULL status) for a known person without periods.
    """
    conditions = [sp.c.person_id == person_number.c.person_id]
    if as_known:
        moment = bindparam("known_at", type_=DateTime)
        conditions.append(
            and_(sp.c.recorded_at <= moment, or_(sp.c.superseded_at.is_(None), sp.c.superseded_at > moment))
        )
    else:
        conditions.append(sp.c.superseded_at.is_(None))
    if dated:
        first, last = bindparam("first", type_=Date), bindparam("last", type_=Date)
        conditions.append(and_(sp.c.start_date <= last, or_(sp.c.end_date.is_(None), sp.c.end_date >= first)))
    return (
        select(sp.c.status, sp.c.start_date, sp.c.end_date, sp.c.source, sp.c.recorded_at, sp.c.superseded_at)
        .select_from(person_number)
        .outerjoin(sp, and_(*conditions))
        .where(person_number.c.insz == bindparam("number"))
        .order_by(sp.c.start_date, sp.c.status, sp.c.source)
    )


@cache
def _sqlite_lookup_sql(dated: bool, as_known: bool) -> tuple[str, tuple[str, ...]]:
    compiled = _lookup(dated, as_known).compile(dialect=sqlite.dialect(paramstyle="qmark"))
    return str(compiled), tuple(compiled.positiontup or ())


def _sqlite_lookup(engine: Engine, shape: tuple[bool, bool], params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One SELECT on a pooled connection, outside any transaction (a single statement reads one
    committed state): the engine's BEGIN IMMEDIATE would make a lookup wait for a running load."""
    sql, names = _sqlite_lookup_sql(*shape)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        rows = cursor.execute(sql, [sqlite_value(params[name]) for name in names]).fetchall()
        cursor.close()
    finally:
        raw.close()
    return [_typed_row(row) for row in rows]


@cache
def _postgresql_lookup_sql(dated: bool, as_known: bool) -> tuple[str, tuple[str, ...]]:
    compiled = _lookup(dated, as_known).compile(dialect=postgresql.psycopg.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), tuple(compiled.params)


def _postgresql_lookup(
    engine: Engine, shape: tuple[bool, bool], params: dict[str, Any]
) -> list[tuple[Any, ...]]:
    """One prepared SELECT in autocommit on a pooled connection's driver: no BEGIN and ROLLBACK round
    trips, no planning after the first lookups, none of SQLAlchemy's per-statement work (most of a
    lookup's time once the database has answered)."""
    sql, names = _postgresql_lookup_sql(*shape)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cursor:
                cursor.execute(sql, {name: params[name] for name in names}, prepare=True)
                rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            driver.autocommit = False
    finally:
        raw.close()
    return rows


def _typed_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    status, start, end, source, recorded, superseded = row
    return (
        status,
        date.fromisoformat(start) if start is not None else None,
        date.fromisoformat(end) if end is not None else None,
        source,
        datetime.fromisoformat(recorded) if recorded is not None else None,
        datetime.fromisoformat(superseded) if superseded is not None else None,
    )


def _checked_codes(codes: Iterable[str]) -> list[str]:
    cat = catalogue()
    return sorted({cat.status(code).code for code in codes})


def _with_current_number(statement: Select[Any]) -> Select[Any]:
    return statement.join(
        person_number,
        and_(person_number.c.person_id == sp.c.person_id, person_number.c.replaced_at.is_(None)),
    )


def holders(
    engine: Engine,
    codes: Iterable[str],
    *,
    at: date,
    municipality: str | None = None,
    known_at: datetime | None = None,
) -> pl.DataFrame:
    """Everyone holding one of ``codes`` on ``at``: person_id, insz, status, start_date, end_date.

    One row per period, so a person with two of the codes appears twice. Codes are taken literally; pass
    them through :func:`expand_codes` to include the codes that count as them (VT_DEPENDANT for VT).
    ``municipality`` (a NIS code) keeps the people living there on ``at``.
    """
    statement = _with_current_number(
        select(sp.c.person_id, person_number.c.insz, sp.c.status, sp.c.start_date, sp.c.end_date)
    ).where(one_of_text(sp.c.status, _checked_codes(codes)), _valid_between(at, at), known(known_at))
    if municipality is not None:
        nis = _municipality_nis(municipality)
        statement = statement.join(
            address,
            and_(
                address.c.person_id == sp.c.person_id,
                address.c.valid_from <= at,
                or_(address.c.valid_to.is_(None), address.c.valid_to >= at),
            ),
        ).where(address.c.municipality_nis == nis)
    return _frame(engine, statement.order_by(sp.c.person_id, sp.c.status, sp.c.start_date))


def _municipality_nis(nis: str) -> str:
    """The NIS code, checked against the municipality list (raises UnknownMunicipality)."""
    return municipality(nis).nis


def periods_frame(
    engine: Engine,
    *,
    known_at: datetime | None = None,
    statuses: Iterable[str] | None = None,
    person_ids: Iterable[int] | None = None,
) -> pl.DataFrame:
    """Every period (current knowledge, or as known at ``known_at``) as one frame, for bulk work.

    Columns: person_id (Int64), insz (the person's current number), status, start_date (Date),
    end_date (Date, null while open), source. Current knowledge comes from the columnar snapshot brought
    up to the newest mutation event (:mod:`kruispunt.statuses.snapshot`); the same rows as
    :func:`read_periods`, which reads the tables, as it does for past knowledge and for the periods of
    a few ``person_ids`` only.
    """
    if known_at is not None or person_ids is not None:
        return read_periods(engine, known_at=known_at, statuses=statuses, person_ids=person_ids)
    frame = snapshot.current(engine)
    if frame is None:
        seq = snapshot.outbox_position(engine)
        frame = read_periods(engine)
        snapshot.store_if_consistent(engine, seq, frame)
    frame = frame.filter(pl.col("insz").is_not_null())
    if statuses is not None:
        frame = frame.filter(pl.col("status").is_in(_checked_codes(statuses)))
    return frame


def read_periods(
    engine: Engine,
    *,
    known_at: datetime | None = None,
    statuses: Iterable[str] | None = None,
    person_ids: Iterable[int] | None = None,
) -> pl.DataFrame:
    """:func:`periods_frame` read from the tables: the periods, then each person's current number.

    ``person_ids`` reads only those persons' periods, through the person index: for deciding a few
    persons, where reading the whole columnar snapshot would cost a national decode.
    """
    statement = select(sp.c.person_id, sp.c.status, sp.c.start_date, sp.c.end_date, sp.c.source).where(
        known(known_at)
    )
    numbers_statement = select(person_number.c.person_id, person_number.c.insz).where(
        person_number.c.replaced_at.is_(None)
    )
    if statuses is not None:
        statement = statement.where(one_of_text(sp.c.status, _checked_codes(statuses)))
    if person_ids is not None:
        ids = list(person_ids)
        statement = statement.where(one_of_ids(sp.c.person_id, ids))
        numbers_statement = numbers_statement.where(one_of_ids(person_number.c.person_id, ids))
    bulk = person_ids is None
    periods = _frame(engine, statement, bulk=bulk)
    numbers = _frame(engine, numbers_statement, bulk=bulk)
    return periods.join(numbers, on="person_id").select(list(snapshot.SCHEMA))


def _frame(engine: Engine, statement: Select[Any], *, bulk: bool = False) -> pl.DataFrame:
    return read_frame(engine, statement, bulk=bulk).with_columns(pl.col("person_id").cast(pl.Int64))
