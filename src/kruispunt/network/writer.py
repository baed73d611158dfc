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
import queue
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
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
    interpreter lock at every database call), on PostgreSQL asynchronously. Whatever is not plain sailing
    (another process holding SQLite's write lock, a record the database refuses, a lost connection) is
    handed over whole to the thread writer, which retries record by record and reports each one's outcome.
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


class _Unnest:
    """``INSERT INTO table SELECT * FROM unnest(arrays)``: one prepared statement for any number of rows."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.names = [column.name for column in table.columns]
        arrays = [
            sql.SQL("{}::{}[]").format(sql.Placeholder(c.name), sql.SQL(str(c.type.compile(dialect=dialect))))
            for c in table.columns
        ]
        self.statement = sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
            sql.Identifier(table.name),
            sql.SQL(", ").join(map(sql.Identifier, self.names)),
            sql.SQL(", ").join(arrays),
        )
        self._text: str | None = None

    def text(self, conn: psycopg.AsyncConnection[Any]) -> str:
        """The statement as text (composing it anew at every call would cost more than running it)."""
        if self._text is None:
            self._text = self.statement.as_string(conn)
        return self._text

    def columns(self, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {name: [row[name] for row in rows] for name in self.names}


class _PostgresBatches:
    """One asynchronous connection; the head is locked (``FOR UPDATE``), so workers keep one chain."""

    def __init__(self, engine: Engine) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sql = _Statements(engine.dialect)
        self._records = _Unnest(audit_record, engine.dialect)
        self._replies = _Unnest(exchange_reply, engine.dialect)
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, batch: list[_Pending]) -> None:
        """Two round trips: begin and lock the head; then the rows, the new head and the commit at once."""
        conn = await self._connection()
        try:
            async with conn.pipeline(), conn.transaction():
                cursor = conn.cursor()
                await cursor.execute(self._sql.head, prepare=True)
                head = await cursor.fetchone()  # waits for the lock, as any writer of the chain does
                assert head is not None
                rows, replies = _chained(head[0], head[1], batch)
                records, kept = self._records, self._replies
                await cursor.execute(records.text(conn), records.columns(rows), prepare=True)
                if replies:
                    await cursor.execute(kept.text(conn), kept.columns(replies), prepare=True)
                last = rows[-1]
                await cursor.execute(self._sql.move, {"seq": last["seq"], "hash": last["hash"]}, prepare=True)
        except BaseException:
            if conn.broken or conn.closed:
                self.close()
            raise

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        loop = asyncio.get_running_loop()
        if self._conn is None or self._loop is not loop:
            self.close()  # a connection belongs to the loop that opened it
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo)
            self._loop = loop
        return self._conn

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.pgconn.finish()  # what close() does, without needing the loop
