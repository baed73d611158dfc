"""Group commit for the audit log: many exchanges' records chained and committed in one transaction.

Each exchange hands its audit record (and the reply to keep for idempotent retries) to the writer thread
and waits (a thread on an event, a coroutine on a future of its event loop); the writer takes everything
queued, appends it to the chain in one transaction and wakes the waiters with their sequence numbers.
An exchange is answered only after its record is committed, exactly as with one transaction per exchange,
but under load one commit (and one lock on the chain head) serves many exchanges. When a batch fails, its
records are retried one by one, so one bad record (a message id stored meanwhile by another worker) fails
only its own exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql
from sqlalchemy import Dialect, Engine, Table, bindparam, literal_column, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import PoolProxiedConnection

from kruispunt.network import audit
from kruispunt.network.tables import audit_head, audit_record, exchange_reply

MAX_BATCH = 256


@dataclass
class _Pending:
    entry: audit.AuditEntry
    render: Callable[[int], bytes]
    reply: dict[str, Any] | None
    # Exactly one of the two: a waiting thread's event or a waiting coroutine's future.
    done: threading.Event | None = None
    future: asyncio.Future[tuple[int, bytes]] | None = None
    seq: int = 0
    payload: bytes = b""
    error: BaseException | None = None


class AuditWriter:
    """One per hub (per process); started on first use, stopped by :meth:`close`."""

    def __init__(self, engine: Engine, turn: Callable[[], AbstractContextManager[None]]) -> None:
        self._engine = engine
        self._turn = turn
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(
        self, entry: audit.AuditEntry, render: Callable[[int], bytes], reply: dict[str, Any] | None
    ) -> tuple[int, bytes]:
        """Chain ``entry`` (and store ``reply`` with the rendered body); blocks until committed.

        ``render(seq)`` gives the reply body once the sequence number is known. Raises the database's
        error when the record could not be written.
        """
        pending = _Pending(entry, render, reply, done=threading.Event())
        self._ensure_started()
        self._queue.put(pending)
        assert pending.done is not None
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.seq, pending.payload

    def hand_over(self, batch: list[_Pending]) -> None:
        """Write calls that another writer could not (their waiters are woken as usual)."""
        self._ensure_started()
        for pending in batch:
            self._queue.put(pending)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self._turn(), self._engine.begin() as conn:
                seqs = audit.append(conn, [p.entry for p in batch])
                replies = []
                for pending, seq in zip(batch, seqs, strict=True):
                    pending.seq, pending.payload = seq, pending.render(seq)
                    if pending.reply is not None:
                        replies.append({**pending.reply, "body": pending.payload.decode(), "audit_seq": seq})
                if replies:
                    conn.execute(exchange_reply.insert(), replies)
        except Exception as error:
            if len(batch) > 1:
                for pending in batch:
                    self._write([pending])
                return
            batch[0].error = error
        _wake(batch)


def _wake(batch: list[_Pending]) -> None:
    """Wake the waiting threads, and each loop's waiting coroutines with one call into that loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in batch:
        if pending.done is not None:
            pending.done.set()
        elif pending.future is not None:
            waiting.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, items in waiting.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Pending]) -> None:
    for pending in items:
        future = pending.future
        if future is None or future.done():  # cancelled: the caller went away; its record stands
            continue
        if pending.error is not None:
            future.set_exception(pending.error)
        else:
            future.set_result((pending.seq, pending.payload))


class LoopWriter:
    """Group commit on the event loop, for the calls the hub serves there (see ``Hub.consult_statuses``).

    The calls that become ready in one turn of the loop form a batch; it is chained and committed through
    the DBAPI connection without leaving the loop's thread (a second thread would fight the loop for the
    interpreter lock at every database call), on PostgreSQL asynchronously, in one statement. Whatever is
    not plain sailing (another process holding SQLite's write lock, a record the database refuses, a lost
    connection, other workers moving the PostgreSQL head at every attempt) is handed over whole to the
    thread writer, which retries record by record and reports each one's outcome.
    Either way a call's future is settled only after its record is committed, or with the error.
    """

    def __init__(self, engine: Engine, fallback: AuditWriter) -> None:
        self._batches: _Batches = (
            _SqliteBatches(engine) if engine.dialect.name == "sqlite" else _PostgresBatches(engine)
        )
        self._fallback = fallback
        self._waiting: list[_Pending] = []
        self._draining: asyncio.Task[None] | None = None

    async def submit(
        self, entry: audit.AuditEntry, render: Callable[[int], bytes], reply: dict[str, Any] | None
    ) -> tuple[int, bytes]:
        """Like :meth:`AuditWriter.submit`; raises the database's error when the record was not written."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self._waiting.append(_Pending(entry, render, reply, future=future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the calls ready in this turn of the loop join the batch
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                try:
                    await self._batches.write(batch)
                except Exception:
                    self._fallback.hand_over(batch)
                    continue
                _settle(batch)
        finally:
            self._draining = None

    def close(self) -> None:
        self._batches.close()


class _Batches(Protocol):
    async def write(self, batch: list[_Pending]) -> None: ...

    def close(self) -> None: ...


def _chained(head_seq: int, head_hash: str, batch: list[_Pending]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The batch's audit rows after the head, and the replies to keep; fills in each call's seq and body."""
    rows = audit.chain(head_seq, head_hash, [p.entry for p in batch])
    replies = []
    for pending, row in zip(batch, rows, strict=True):
        pending.seq, pending.payload = row["seq"], pending.render(row["seq"])
        if pending.reply is not None:
            replies.append({**pending.reply, "body": pending.payload.decode(), "audit_seq": row["seq"]})
    return rows, replies


class _Statements:
    """The chain's statements compiled once for a dialect, with the column types' value conversions."""

    def __init__(self, dialect: Dialect) -> None:
        head = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == literal_column("1"))
        self.head = str(head.with_for_update().compile(dialect=dialect))
        self.move = str(
            update(audit_head)
            .where(audit_head.c.id == literal_column("1"))
            .values(seq=bindparam("seq"), hash=bindparam("hash"))
            .compile(dialect=dialect)
        )
        self.record = str(audit_record.insert().compile(dialect=dialect))
        self.reply = str(exchange_reply.insert().compile(dialect=dialect))
        self._record_types = _conversions(audit_record, dialect)
        self._reply_types = _conversions(exchange_reply, dialect)

    def records(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_converted(row, self._record_types) for row in rows]

    def replies(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_converted(row, self._reply_types) for row in rows]


def _conversions(table: Table, dialect: Dialect) -> dict[str, Callable[[Any], Any]]:
    found: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        convert = column.type.bind_processor(dialect)
        if convert is not None:
            found[column.name] = convert
    return found


def _converted(row: dict[str, Any], conversions: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    return {name: (conversions[name](v) if name in conversions else v) for name, v in row.items()}


class _SqliteBatches:
    """A connection of the loop's own that never waits for SQLite's write lock: busy means hand over.

    It does not checkpoint the WAL into the database when it commits (that writes and syncs the database
    file, long enough to stall every call the loop serves); a thread does, every ``CHECKPOINT_EVERY``
    commits, in passive mode, so writers never wait for it either.
    """

    CHECKPOINT_EVERY = 200

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sql = _Statements(sqlite.dialect(paramstyle="named"))
        self._held: PoolProxiedConnection | None = None
        self._conn: sqlite3.Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future[None] | None = None

    async def write(self, batch: list[_Pending]) -> None:
        conn = self._conn or self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            head_seq, head_hash = conn.execute(self._sql.head).fetchone()
            rows, replies = _chained(head_seq, head_hash, batch)
            conn.executemany(self._sql.record, self._sql.records(rows))
            if replies:
                conn.executemany(self._sql.reply, self._sql.replies(replies))
            conn.execute(self._sql.move, {"seq": rows[-1]["seq"], "hash": rows[-1]["hash"]})
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._commits += 1
        idle = self._checkpoint is None or self._checkpoint.done()
        if self._commits % self.CHECKPOINT_EVERY == 0 and idle:
            self._checkpoint = asyncio.get_running_loop().run_in_executor(None, self._checkpoint_wal)

    def _checkpoint_wal(self) -> None:
        held = self._engine.raw_connection()  # the DBAPI connection: no transaction, no write lock
        try:
            cursor = held.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            cursor.close()
        finally:
            held.close()

    def _connect(self) -> sqlite3.Connection:
        self._held = self._engine.raw_connection()
        conn = self._held.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn = conn
        return conn

    def close(self) -> None:
        held, self._held, self._conn = self._held, None, None
        if held is not None:
            held.invalidate()  # its busy timeout is not the pool's: never hand it to anyone else


class _PostgresBatches:
    """One asynchronous connection in autocommit; a batch is one statement, one round trip.

    The batch is chained after the head this writer last wrote or read, and the statement moves the head
    only if it still is that head (compare and set), inserting the records and replies only if it moved:
    one atomic statement, so its rows are committed when it returns. When another writer (another worker,
    the thread writer, a bulk load) moved the head meanwhile, nothing is written: the head is read again
    and the batch chained anew. Whoever moves the head first wins, so all workers keep one chain; after a
    few lost races in a row the batch goes to the thread writer, which waits for the head's lock instead.
    """

    ATTEMPTS = 3

    def __init__(self, engine: Engine) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._read_head = str(
            select(audit_head.c.seq, audit_head.c.hash)
            .where(audit_head.c.id == literal_column("1"))
            .compile(dialect=engine.dialect)
        )
        self._append = _compare_and_append().as_string(None)
        self._head: tuple[int, str] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, batch: list[_Pending]) -> None:
        conn = await self._connection()
        try:
            for _ in range(self.ATTEMPTS):
                head = self._head or await self._current_head(conn)
                rows, replies = _chained(head[0], head[1], batch)
                last = rows[-1]
                parameters = {
                    "after_seq": head[0],
                    "after_hash": head[1],
                    "seq": last["seq"],
                    "hash": last["hash"],
                    "records": _json_rows(rows),
                    "replies": _json_rows(replies),
                }
                cursor = await conn.execute(self._append, parameters, prepare=True)
                moved = await cursor.fetchone()
                if moved is not None and moved[0] == 1:
                    self._head = (last["seq"], last["hash"])
                    return
                self._head = None  # another writer moved the head: read it and chain again
        except BaseException:
            self._head = None
            if conn.broken or conn.closed:
                self.close()
            raise
        raise _HeadContended("the audit head kept moving under this writer")

    async def _current_head(self, conn: psycopg.AsyncConnection[Any]) -> tuple[int, str]:
        cursor = await conn.execute(self._read_head, prepare=True)
        row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), str(row[1])

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        if self._conn is None or self._loop is not loop:
            self.close()  # a connection belongs to the loop that opened it
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            self._loop = loop
        return self._conn

    def close(self) -> None:
        conn, self._conn, self._head = self._conn, None, None
        if conn is not None:
            conn.pgconn.finish()  # what close() does, without needing the loop


class _HeadContended(Exception):
    """Other writers moved the audit head at every attempt; the thread writer takes the batch over."""


def _compare_and_append() -> sql.Composed:
    """The head moved from (after_seq, after_hash) to (seq, hash), and the rows inserted, only if it was
    there: the rows travel as two JSON arrays of objects, read into each table's row type by name."""
    moved = sql.SQL(
        "UPDATE {head} SET seq = %(seq)s::bigint, hash = %(hash)s"
        " WHERE id = 1 AND seq = %(after_seq)s::bigint AND hash = %(after_hash)s RETURNING 1"
    ).format(head=sql.Identifier(audit_head.name))
    return sql.SQL(
        "WITH moved AS ({moved}), records AS ({records}), replies AS ({replies}) SELECT count(*) FROM moved"
    ).format(
        moved=moved,
        records=_insert_json(audit_record, "records"),
        replies=_insert_json(exchange_reply, "replies"),
    )


def _insert_json(table: Table, parameter: str) -> sql.Composed:
    columns = sql.SQL(", ").join(sql.Identifier(column.name) for column in table.columns)
    return sql.SQL(
        "INSERT INTO {table} ({columns}) SELECT {columns}"
        " FROM json_populate_recordset(NULL::{table}, {rows}::json) WHERE EXISTS (SELECT FROM moved)"
    ).format(table=sql.Identifier(table.name), columns=columns, rows=sql.Placeholder(parameter))


def _json_rows(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON text (one C call, where array parameters cost psycopg tens of µs a row)."""
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # timestamp without time zone: the naive UTC value, microseconds kept
    raise TypeError(f"{type(value).__name__} has no JSON form for the audit log")
