"""The reads of a status consultation in one statement, on the event loop, through the DBAPI connection.

One statement answers everything the hub needs to decide a status consultation: the credential behind the
token (revocation included: credentials are never cached), its partner, the reply stored under the call's
message id, the policy version (see ``hub_policy``), the partner's integrations of the person behind the
INSZ, and that person's current status periods over the asked period. The hub then decides in Python.

The statement is compiled once per dialect and runs prepared: on SQLite on one connection held by the
event loop (a read in WAL mode takes tens of microseconds and never waits for a writer); on PostgreSQL on a
few asynchronous psycopg connections in autocommit mode, so waiting for the server blocks nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy import Engine, and_, bindparam, literal_column, or_, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import PoolProxiedConnection

from kruispunt import statuses
from kruispunt.identity.tables import person_number
from kruispunt.network.partners import CREDENTIAL_COLUMNS
from kruispunt.network.tables import (
    exchange_reply,
    hub_policy,
    integration,
    partner,
    partner_credential,
)

_sp = statuses.status_period
# Column positions in a row of CONSULTATION.
CREDENTIAL, PARTNER, TOKEN_HASH, REVOKED_AT, KBO, SECTOR = range(6)
STORED_DIGEST, STORED_STATUS, STORED_BODY, POLICY_VERSION = range(6, 10)
INTEGRATION, PERSON, CAPACITY, VALID_FROM, VALID_TO = range(10, 15)
PERIOD, STATUS, START, END, SOURCE = range(15, 20)

CONSULTATION = (
    select(
        *CREDENTIAL_COLUMNS,
        exchange_reply.c.request_digest,
        exchange_reply.c.http_status,
        exchange_reply.c.body,
        hub_policy.c.version,
        integration.c.id,
        integration.c.person_id,
        integration.c.capacity,
        integration.c.valid_from,
        integration.c.valid_to,
        _sp.c.id,
        _sp.c.status,
        _sp.c.start_date,
        _sp.c.end_date,
        _sp.c.source,
    )
    .select_from(partner_credential)
    .join(partner, partner.c.id == partner_credential.c.partner_id)
    .join(hub_policy, hub_policy.c.id == literal_column("1"))
    .outerjoin(
        exchange_reply,
        and_(
            exchange_reply.c.partner_id == partner_credential.c.partner_id,
            exchange_reply.c.message_id == bindparam("message_id"),
        ),
    )
    .outerjoin(
        integration,
        and_(
            integration.c.partner_id == partner_credential.c.partner_id,
            # The person behind any of their numbers (a replaced BIS number still answers). The number is
            # the key of person_number, so this is one value, found once by the planner; with IN instead,
            # PostgreSQL may walk all the partner's integrations.
            integration.c.person_id
            == select(person_number.c.person_id)
            .where(person_number.c.insz == bindparam("insz"))
            .scalar_subquery(),
        ),
    )
    .outerjoin(
        _sp,
        and_(
            _sp.c.person_id == integration.c.person_id,
            _sp.c.superseded_at.is_(None),
            _sp.c.start_date <= bindparam("last"),
            or_(_sp.c.end_date.is_(None), _sp.c.end_date >= bindparam("first")),
        ),
    )
    .where(partner_credential.c.token_hash == bindparam("token_hash"))
    .order_by(integration.c.id, _sp.c.start_date, _sp.c.status, _sp.c.source)
)


class Reader(Protocol):
    async def consultation(
        self, token_hash: str, message_id: str, insz: str, first: date, last: date
    ) -> list[Sequence[Any]]:
        """The rows of :data:`CONSULTATION`; dates and times as ``date``/``datetime`` or ISO text."""
        ...

    def close(self) -> None: ...


def day(value: date | str | None) -> date | None:
    """A date column's value from either driver (SQLite gives the ISO text SQLAlchemy stored)."""
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


def moment(value: datetime | str | None) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else datetime.fromisoformat(value)


def reader_for(engine: Engine) -> Reader:
    if engine.dialect.name == "sqlite":
        return SqliteReader(engine)
    return PostgresReader(engine)


class SqliteReader:
    """One connection, used only by the event loop's thread, outside any transaction (autocommit reads)."""

    _SQL = str(CONSULTATION.compile(dialect=sqlite.dialect(paramstyle="named")))

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._held: PoolProxiedConnection | None = None
        self._conn: sqlite3.Connection | None = None

    async def consultation(
        self, token_hash: str, message_id: str, insz: str, first: date, last: date
    ) -> list[Sequence[Any]]:
        conn = self._conn or self._connect()
        parameters = {
            "token_hash": token_hash,
            "message_id": message_id,
            "insz": insz,
            "first": first.isoformat(),
            "last": last.isoformat(),
        }
        # sqlite3 keeps the statement prepared in its cache between calls.
        return conn.execute(self._SQL, parameters).fetchall()

    def _connect(self) -> sqlite3.Connection:
        self._held = self._engine.raw_connection()
        conn = self._held.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        self._conn = conn
        return conn

    def close(self) -> None:
        held, self._held, self._conn = self._held, None, None
        if held is not None:
            held.close()


class PostgresReader:
    """A few asynchronous connections (opened on first use, in the serving loop), statements prepared."""

    def __init__(self, engine: Engine, size: int = 4) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sql = str(CONSULTATION.compile(dialect=engine.dialect))
        self._size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def consultation(
        self, token_hash: str, message_id: str, insz: str, first: date, last: date
    ) -> list[Sequence[Any]]:
        parameters: Mapping[str, Any] = {
            "token_hash": token_hash,
            "message_id": message_id,
            "insz": insz,
            "first": first,
            "last": last,
        }
        slots = self._slots_here()
        async with slots:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                cursor = await conn.execute(self._sql, parameters, prepare=True)
                rows = await cursor.fetchall()
            except BaseException:
                self._drop(conn)  # a broken or cancelled connection is not reused
                raise
            self._idle.append(conn)
        return rows

    def _slots_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self.close()  # connections belong to the loop that opened them
            self._slots, self._loop = asyncio.Semaphore(self._size), loop
        return self._slots

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        self._open.append(conn)
        return conn

    def _drop(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if conn in self._open:
            self._open.remove(conn)
        conn.pgconn.finish()

    def close(self) -> None:
        """Close every connection; callable outside the loop (finishing a connection does not wait)."""
        for conn in self._open:
            conn.pgconn.finish()
        self._open, self._idle = [], []
