"""Worker processes for large runs: each makes a fixed share of the chunks, the main process writes.

Worker ``w`` of ``n`` makes chunks ``w``, ``w + n``, ``w + 2n``, ... in that order and keeps their people
between the two passes (see :mod:`kruispunt.synth.chunks`). It first counts every chunk of its share and
sends the counts; once the main process has them all, it knows each chunk's first serials and sends them,
chunk by chunk, as permission to build: a worker is never more than :data:`BACKLOG` chunks ahead of the
writer, which bounds the parts waiting on disk. Built chunks come back as part files (no frame is pickled)
and are written in chunk order, so the files do not depend on the scheduling.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import traceback
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from kruispunt.synth.chunks import Built, ChunkMaker, ChunkPlan, Job, first_serials
from kruispunt.synth.people import SlotCounts
from kruispunt.synth.populations import SynthError

BACKLOG = 2


def _work(conn: Connection, job: Job, plans: list[ChunkPlan], folder: Path) -> None:
    """A worker process: count the share's chunks, then build each chunk the main process asks for."""
    try:
        maker = ChunkMaker(job)
        for plan in plans:
            conn.send(("counted", plan.index, maker.count(plan)))
        by_index = {plan.index: plan for plan in plans}
        while (request := conn.recv()) is not None:
            index, first_pairs = request
            conn.send(("built", index, maker.build_parts(by_index[index], first_pairs, folder)))
    except BaseException as error:  # whatever stops a worker is raised again in the main process
        failure = error if isinstance(error, SynthError) else RuntimeError(traceback.format_exc())
        with contextlib.suppress(OSError):  # unless the main process is gone already
            conn.send(("failed", -1, failure))
    finally:
        conn.close()


class _Pool:
    """The worker processes and their pipes."""

    def __init__(self, job: Job, plans: list[ChunkPlan], count: int, folder: Path) -> None:
        context = multiprocessing.get_context("spawn")  # fork would copy Polars' thread pool
        self.count = count
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for worker in range(count):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_work, args=(theirs, job, plans[worker::count], folder), daemon=True
            )
            process.start()
            theirs.close()
            self.pipes.append(mine)
            self.processes.append(process)

    def receive(self) -> list[tuple[str, int, Any]]:
        """The messages that arrived (waiting for at least one); raises a worker's failure."""
        messages = []
        for conn in wait(self.pipes):
            assert isinstance(conn, Connection)
            try:
                kind, index, payload = conn.recv()
            except EOFError:
                raise RuntimeError("a synth worker process stopped unexpectedly") from None
            if kind == "failed":
                raise payload
            messages.append((kind, index, payload))
        return messages

    def close(self) -> None:
        """Let the workers finish (they wait for their next request), then stop any that did not."""
        for conn in self.pipes:
            with contextlib.suppress(OSError):  # a worker that failed has closed its end
                conn.send(None)
        for process in self.processes:
            process.join(timeout=10)
        self.stop()

    def stop(self) -> None:
        """Stop the workers at once (after a failure, or once they are done)."""
        for conn, process in zip(self.pipes, self.processes, strict=True):
            if process.is_alive():
                process.terminate()
                process.join()
            conn.close()


def run(
    plans: list[ChunkPlan],
    job: Job,
    count: int,
    folder: Path,
    write: Callable[[Built], None],
    progress: Callable[[ChunkPlan], None],
) -> None:
    """Make ``plans`` in ``count`` worker processes (parts in ``folder``) and ``write`` them in order."""
    pool = _Pool(job, plans, count, folder)
    try:
        used: dict[int, SlotCounts] = {}
        while len(used) < len(plans):
            for _, index, counts in pool.receive():
                used[index] = counts
                progress(plans[index])
        firsts = first_serials([used.pop(index) for index in range(len(plans))])
        waiting = [deque(plan.index for plan in plans[worker::count]) for worker in range(count)]

        def ask(worker: int) -> None:
            if waiting[worker]:
                index = waiting[worker].popleft()
                pool.pipes[worker].send((index, firsts[index]))

        for worker in range(count):
            for _ in range(BACKLOG):
                ask(worker)
        built: dict[int, Built] = {}
        for index, plan in enumerate(plans):
            while index not in built:
                built.update((i, payload) for _, i, payload in pool.receive())
            write(built.pop(index))
            progress(plan)
            ask(index % count)
        pool.close()
    finally:
        pool.stop()
