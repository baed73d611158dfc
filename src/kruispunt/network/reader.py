"""The reads of a status consultation in one statement, on the event loop, through the DBAPI connection.

One statement answers everything the hub needs to decide a status consultation: the credential behind the
token (revocation included: credentials are never cached), its partner, the reply stored under the call's
message id, the policy version (see ``hub_policy``), the partner's integrations of the person behind the
INSZ, and that person's current status periods over the asked period. The hub then decides in Python.

The statement is compiled once per dialect and runs prepared: on SQLite on one connection held by the
event loop (a read in WAL mode takes tens of microseconds and never waits for a writer); on PostgreSQL on a
few asynchronous psycopg connections in autocommit mode, so waiting for the server blocks nothing, and the
calls ready in one turn of the loop are read with one statement (:data:`CONSULTATIONS`), each call still
by its own index lookups.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

import psycopg
from sqlalchemy import (
    Date,
    Engine,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
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


AUTHENTICATION_COLUMNS = (
    *CREDENTIAL_COLUMNS,
    exchange_reply.c.request_digest,
    exchange_reply.c.http_status,
    exchange_reply.c.body,
    hub_policy.c.version,
)
"""What authenticates a call: its credential and partner, any reply stored under its message id, and the
policy version (positions up to :data:`POLICY_VERSION`)."""


def _consultation(asked: Mapping[str, Any]) -> Select[Any]:
    """The statement for one call, its parameters taken from ``asked`` (bound values, or a call's columns)."""
    return (
        select(
            *AUTHENTICATION_COLUMNS,
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
                exchange_reply.c.message_id == asked["message_id"],
            ),
        )
        .outerjoin(
            integration,
            and_(
                integration.c.partner_id == partner_credential.c.partner_id,
                # The person behind any of their numbers (a replaced BIS number still answers). The number
                # is the key of person_number, so this is one value, found once by the planner; with IN
                # instead, PostgreSQL may walk all the partner's integrations.
                integration.c.person_id
                == select(person_number.c.person_id)
                .where(person_number.c.insz == asked["insz"])
                .correlate_except(person_number)
                .scalar_subquery(),
            ),
        )
        .outerjoin(
            _sp,
            and_(
                _sp.c.person_id == integration.c.person_id,
                _sp.c.superseded_at.is_(None),
                _sp.c.start_date <= asked["last"],
                or_(_sp.c.end_date.is_(None), _sp.c.end_date >= asked["first"]),
            ),
        )
        .where(partner_credential.c.token_hash == asked["token_hash"])
    )


_NAMES = ("token_hash", "message_id", "insz", "first", "last")
CONSULTATION = _consultation({name: bindparam(name) for name in _NAMES}).order_by(
    integration.c.id, _sp.c.start_date, _sp.c.status, _sp.c.source
)

# On PostgreSQL the calls ready in one turn of the loop are asked together: their parameters as arrays,
# unnested into one row per call, and for each call the statement above as a LATERAL subquery. OFFSET 0
# keeps the planner from merging the subquery into the outer query, so each call is still answered by its
# own index lookups (merged, the calls would be hash-joined against whole tables).
_CALL_TYPES: dict[str, Any] = {
    "token_hash": String,
    "message_id": String,
    "insz": String,
    "first": Date,
    "last": Date,
    "k": Integer,
}
_CALLS = (
    func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, kind in _CALL_TYPES.items()))
    .table_valued(*_CALL_TYPES)
    .render_derived("call")
)
_EACH = _consultation({name: _CALLS.c[name] for name in _NAMES}).offset(literal_column("0")).lateral("answer")
CALL = 20  # position of the call's number (its place in the batch) in a row of CONSULTATIONS
CONSULTATIONS = (
    select(*_EACH.c, _CALLS.c.k)
    .select_from(_CALLS.join(_EACH, true()))
    .order_by(_CALLS.c.k, *(list(_EACH.c)[position] for position in (INTEGRATION, START, STATUS, SOURCE)))
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


_INDEX_LOOKUPS_ONLY = (
    "SELECT set_config('enable_seqscan', 'off', false), set_config('enable_hashjoin', 'off', false),"
    " set_config('enable_mergejoin', 'off', false)"
)

_Call = tuple[tuple[str, str, str, date, date], "asyncio.Future[list[Sequence[Any]]]"]


class PostgresReader:
    """A few asynchronous connections (opened on first use, in the serving loop), statements prepared.

    The calls that become ready in one turn of the loop share one statement (:data:`CONSULTATIONS`): one
    round trip, one statement for the server to run and psycopg's own overhead once per turn instead of
    once per call. Up to ``size`` such statements run at once, one per connection.
    """

    def __init__(self, engine: Engine, size: int = 4) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sql = str(CONSULTATIONS.compile(dialect=engine.dialect))
        self._size = size
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Call] = []
        self._draining: asyncio.Task[None] | None = None
        self._asking: set[asyncio.Task[None]] = set()

    async def consultation(
        self, token_hash: str, message_id: str, insz: str, first: date, last: date
    ) -> list[Sequence[Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Sequence[Any]]] = loop.create_future()
        self._waiting.append(((token_hash, message_id, insz, first, last), future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        """Ask for the waiting calls whenever a connection is free: those ready by then form one batch."""
        try:
            while self._waiting:
                slots = self._slots_here()
                await slots.acquire()
                await asyncio.sleep(0)  # the calls ready in this turn of the loop join the batch
                batch, self._waiting = self._waiting, []
                if not batch:
                    slots.release()
                    continue
                task = asyncio.get_running_loop().create_task(self._ask(batch, slots))
                self._asking.add(task)  # a reference, so the task is not collected while it runs
                task.add_done_callback(self._asking.discard)
        finally:
            self._draining = None

    async def _ask(self, batch: list[_Call], slots: asyncio.Semaphore) -> None:
        columns = [list(column) for column in zip(*(call for call, _ in batch), strict=True)]
        parameters: dict[str, Any] = dict(zip(_NAMES, columns, strict=True))
        parameters["k"] = list(range(len(batch)))
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            try:
                cursor = await conn.execute(self._sql, parameters, prepare=True)
                rows = await cursor.fetchall()
            except BaseException:
                self._drop(conn)  # a broken or cancelled connection is not reused
                raise
            self._idle.append(conn)
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            slots.release()
        answers: list[list[Sequence[Any]]] = [[] for _ in batch]
        for row in rows:
            answers[row[CALL]].append(row)
        for (_, future), answer in zip(batch, answers, strict=True):
            if not future.done():  # a caller that went away
                future.set_result(answer)

    def _slots_here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self.close()  # connections belong to the loop that opened them
            self._slots, self._loop = asyncio.Semaphore(self._size), loop
        return self._slots

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        # The prepared statement's plan is kept for the connection's life. Planned while the hub's tables
        # were small (a new installation), it would scan them whole, per call, once they have grown; every
        # row it needs is behind an index, so the plan is pinned to index lookups and nested loops.
        await conn.execute(_INDEX_LOOKUPS_ONLY)
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
