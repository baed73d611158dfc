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
import json
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
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import JSON
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


def _consultation(asked: Mapping[str, Any], *, lateral: bool = False) -> Select[Any]:
    """The statement for one call, its parameters taken from ``asked`` (bound values, or a call's columns).

    ``lateral``: the stored reply is looked up by a LATERAL subquery (PostgreSQL), in which the partner
    and the message id are both known values, so it is always one lookup on the reply's primary key. As
    a join, a plan cached while the table was small may look up the message id alone and filter on the
    partner: a walk through the whole key (measured: the reads slowing down as replies accumulate).
    """
    stored: Any = exchange_reply
    if lateral:
        stored = (
            select(exchange_reply.c.request_digest, exchange_reply.c.http_status, exchange_reply.c.body)
            .where(
                exchange_reply.c.partner_id == partner_credential.c.partner_id,
                exchange_reply.c.message_id == asked["message_id"],
            )
            .correlate_except(exchange_reply)
            .offset(literal_column("0"))
            .lateral("stored")
        )
        reply_on: Any = true()
    else:
        reply_on = and_(
            exchange_reply.c.partner_id == partner_credential.c.partner_id,
            exchange_reply.c.message_id == asked["message_id"],
        )
    return (
        select(
            *CREDENTIAL_COLUMNS,
            stored.c.request_digest,
            stored.c.http_status,
            stored.c.body,
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
        .outerjoin(stored, reply_on)
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

# On PostgreSQL the calls ready in one turn of the loop are asked together: their parameters as one JSON
# array of objects, read into one row per call, and for each call the statement above as a LATERAL
# subquery. OFFSET 0 keeps the planner from merging the subquery into the outer query, so each call is
# still answered by its own index lookups (merged, the calls would be hash-joined against whole tables).
# JSON rather than one array parameter per column: psycopg dumps an array element by element in Python
# (some 25 µs a call), json.dumps in one C call.
_CALL_TYPES: dict[str, Any] = {
    "token_hash": String,
    "message_id": String,
    "insz": String,
    "first": Date,
    "last": Date,
    "k": Integer,
}
_CALLS = (
    func.json_to_recordset(cast(bindparam("calls", type_=String), JSON))
    .table_valued(*(column(name, kind) for name, kind in _CALL_TYPES.items()))
    .render_derived("call", with_types=True)
)
_EACH = (
    _consultation({name: _CALLS.c[name] for name in _NAMES}, lateral=True)
    .offset(literal_column("0"))
    .lateral("answer")
)
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


def _json_calls(batch: list[_Call]) -> str:
    """The calls' parameters as the JSON array :data:`CONSULTATIONS` reads, each numbered by its place."""
    return json.dumps(
        [
            {
                "token_hash": token_hash,
                "message_id": message_id,
                "insz": insz,
                "first": first.isoformat(),
                "last": last.isoformat(),
                "k": k,
            }
            for k, ((token_hash, message_id, insz, first, last), _) in enumerate(batch)
        ],
        separators=(",", ":"),
    )


class PostgresReader:
    """A few asynchronous connections (opened on first use, in the serving loop), statements prepared.

    The calls that become ready in one turn of the loop are asked together (:data:`CONSULTATIONS`): one
    round trip, one statement for the server to run and psycopg's own overhead once per statement instead
    of once per call. They are spread over the connections free at that moment, at least
    ``SHARE`` calls a statement: while the server answers one part, the loop already decides on the
    part answered before. Asked as one statement, all calls waited for the whole batch while the loop
    stood idle, then came back at once, and the next batch formed of them all: a convoy (measured over
    HTTP with 32 connections: batches of up to 32 calls, the loop busy three quarters of the time).
    """

    SHARE = 4

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
        """Ask for the waiting calls whenever a connection is free: those ready by then are spread over the
        connections free at that moment, one statement each."""
        try:
            while self._waiting:
                slots = self._slots_here()
                await slots.acquire()
                await asyncio.sleep(0)  # the calls ready in this turn of the loop join the batch
                waiting, self._waiting = self._waiting, []
                if not waiting:
                    slots.release()
                    continue
                # Spread over the connections free now, SHARE calls a statement at least: taking a free
                # slot does not leave the loop. In order of arrival: the oldest calls are asked first.
                parts = 1
                while parts < len(waiting) // self.SHARE and not slots.locked():
                    await slots.acquire()
                    parts += 1
                loop = asyncio.get_running_loop()
                size, more = divmod(len(waiting), parts)
                start = 0
                for index in range(parts):
                    end = start + size + (index < more)
                    task = loop.create_task(self._ask(waiting[start:end], slots))
                    self._asking.add(task)  # a reference, so the task is not collected while it runs
                    task.add_done_callback(self._asking.discard)
                    start = end
        finally:
            self._draining = None

    async def _ask(self, batch: list[_Call], slots: asyncio.Semaphore) -> None:
        parameters = {"calls": _json_calls(batch)}
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
