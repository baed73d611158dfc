"""Group commit for the audit log: many exchanges' records chained and committed in one transaction.

Each exchange hands its audit record (and the reply to keep for idempotent retries) to the writer thread
and waits; the writer takes everything queued, appends it to the chain in one transaction and wakes the
waiters with their sequence numbers. An exchange is answered only after its record is committed, exactly as
with one transaction per exchange, but under load one commit (and one lock on the chain head) serves many
exchanges. When a batch fails, its records are retried one by one, so one bad record (a message id stored
meanwhile by another worker) fails only its own exchange.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from kruispunt.network import audit
from kruispunt.network.tables import exchange_reply

MAX_BATCH = 256


@dataclass
class _Pending:
    entry: audit.AuditEntry
    render: Callable[[int], bytes]
    reply: dict[str, Any] | None
    done: threading.Event = field(default_factory=threading.Event)
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
        pending = _Pending(entry, render, reply)
        self._ensure_started()
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.seq, pending.payload

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
        for pending in batch:
            pending.done.set()
