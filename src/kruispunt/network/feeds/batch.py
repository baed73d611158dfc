"""Batch exchange: a file of INSZ numbers for one service, run as a resumable job.

A partner uploads a CSV with an ``insz`` column (in one request, or in parts when it exceeds the request
size limit), for the ``statuses`` service on a date. The upload is checked as a call is (token, metadata,
a deliberation in force for the service and purpose), then every line as a single consultation would be
(:mod:`.batch_checks`). The job runs in chunks; each chunk's result, its rejects, its audit records and the
job's progress are committed in one transaction, and a chunk is stored once per job (primary key), so a
job killed midway resumes from the first missing chunk and never answers a line twice.
"""

from __future__ import annotations

import hashlib
import io
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from math import ceil
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from kruispunt.network.deliberations import covering
from kruispunt.network.directory import route_for
from kruispunt.network.feed_tables import batch_chunk, batch_job, batch_part
from kruispunt.network.feeds import batch_checks
from kruispunt.network.feeds.access import Caller, digest, log_refusal
from kruispunt.network.feeds.audit_bulk import Prepared, append_prepared, prepare
from kruispunt.network.partners import now
from kruispunt.network.reasons import NetworkError, Reason, Refused
from kruispunt.network.services import STATUSES

CHUNK_LINES = 100_000
MAX_LINES = 10_000_000
LEASE = timedelta(seconds=60)
RESULT_COLUMNS = ("line", "insz", "capacity", "statuses")
REJECT_COLUMNS = ("line", "input", "reason", "message")


@dataclass(frozen=True)
class BatchJob:
    id: int
    partner_id: int
    message_id: str
    service: str
    purpose: str
    deliberation: str
    at: date
    state: str
    parts: int
    lines_total: int
    lines_done: int
    answered: int
    rejected: int
    chunks_total: int
    chunks_done: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    heartbeat_at: datetime | None = None

    def waiting(self, lease: timedelta = LEASE) -> bool:
        """Queued, or running without a heartbeat for ``lease``: a worker should take it (again)."""
        if self.state == "queued":
            return True
        stale = self.heartbeat_at is None or now() - self.heartbeat_at >= lease
        return self.state == "running" and stale

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "message_id": self.message_id,
            "service": self.service,
            "purpose": self.purpose,
            "deliberation": self.deliberation,
            "at": self.at.isoformat(),
            "state": self.state,
            "parts": self.parts,
            "lines": self.lines_total,
            "lines_done": self.lines_done,
            "answered": self.answered,
            "rejected": self.rejected,
            "progress": round(self.lines_done / self.lines_total, 4) if self.lines_total else 0.0,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def _job(row: Any) -> BatchJob:
    return BatchJob(
        int(row.id),
        int(row.partner_id),
        row.message_id,
        row.service,
        row.purpose,
        row.deliberation,
        row.at,
        row.state,
        int(row.parts),
        int(row.lines_total),
        int(row.lines_done),
        int(row.answered),
        int(row.rejected),
        int(row.chunks_total),
        int(row.chunks_done),
        row.error,
        row.created_at,
        row.finished_at,
        row.heartbeat_at,
    )


def get_job(engine: Engine, job_id: int, partner_id: int | None = None) -> BatchJob:
    """The job; with ``partner_id``, only if it is that partner's (others' jobs do not exist for it)."""
    statement = select(batch_job).where(batch_job.c.id == job_id)
    if partner_id is not None:
        statement = statement.where(batch_job.c.partner_id == partner_id)
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    if row is None:
        raise Refused(Reason.INVALID_REQUEST, f"there is no batch job {job_id} of yours", field="id")
    return _job(row)


# --- submission ---


def submit(
    engine: Engine,
    caller: Caller,
    body: bytes,
    *,
    service: str = STATUSES,
    at: date | None = None,
    complete: bool = True,
    chunk_lines: int = CHUNK_LINES,
) -> BatchJob:
    """Create a job from the file's first (or only) part; refused as a call would be, and audited."""
    try:
        return _submit(engine, caller, body, service, at or date.today(), complete, chunk_lines)
    except Refused as refusal:
        log_refusal(engine, caller.meta, f"batch.{service}"[:40], refusal)
        raise


def _submit(
    engine: Engine, caller: Caller, body: bytes, service: str, at: date, complete: bool, chunk_lines: int
) -> BatchJob:
    if service != STATUSES:
        raise Refused(
            Reason.INVALID_REQUEST, f"batches are offered for the {STATUSES} service", field="service"
        )
    if not 1 <= chunk_lines <= 1_000_000:
        raise Refused(Reason.INVALID_REQUEST, "chunk_lines is between 1 and 1,000,000", field="chunk_lines")
    meta = caller.meta
    assert meta.purpose is not None and meta.message_id is not None
    with engine.begin() as conn:
        found = covering(conn, caller.partner_id, service, meta.purpose, date.today())
        if route_for(conn, service) is not None:
            raise Refused(
                Reason.SERVICE_UNAVAILABLE,
                f"the {service} service is routed to an external provider; batches are answered from the hub",
            )
        try:
            new_id = conn.execute(
                batch_job.insert().values(
                    partner_id=caller.partner_id,
                    message_id=meta.message_id,
                    service=service,
                    purpose=meta.purpose,
                    end_user=meta.end_user,
                    case_reference=meta.case_reference,
                    deliberation=found.number,
                    at=at,
                    state="receiving",
                    parts=0,
                    lines_total=0,
                    chunk_lines=chunk_lines,
                    chunks_total=0,
                    chunks_done=0,
                    lines_done=0,
                    answered=0,
                    rejected=0,
                    created_at=now(),
                )
            ).inserted_primary_key
        except IntegrityError:
            raise Refused(
                Reason.MESSAGE_ID_REUSED,
                "a batch was already submitted under this message id; use a new id per message",
                field="X-Message-Id",
            ) from None
    assert new_id is not None
    return add_part(engine, caller, int(new_id[0]), 1, body, complete=complete)


def add_part(
    engine: Engine, caller: Caller, job_id: int, part_no: int, body: bytes, *, complete: bool
) -> BatchJob:
    """Add part ``part_no`` (the next, or the last again: a retry); close the upload if ``complete``."""
    job = get_job(engine, job_id, caller.partner_id)
    digest_ = hashlib.sha256(body).hexdigest()
    with engine.begin() as conn:
        stored = conn.execute(
            select(batch_part.c.digest).where(batch_part.c.job_id == job_id, batch_part.c.part_no == part_no)
        ).scalar()
        if stored is not None and stored != digest_:
            raise Refused(
                Reason.INVALID_REQUEST,
                f"part {part_no} was already received with other content",
                field="part",
            )
        if stored is None:
            if job.state != "receiving":
                raise Refused(
                    Reason.INVALID_REQUEST, f"batch {job_id} is {job.state}; it takes no more parts"
                )
            if part_no != job.parts + 1:
                raise Refused(
                    Reason.INVALID_REQUEST,
                    f"the next part of batch {job_id} is {job.parts + 1}",
                    field="part",
                )
            conn.execute(
                batch_part.insert().values(job_id=job_id, part_no=part_no, body=body, digest=digest_)
            )
            conn.execute(update(batch_job).where(batch_job.c.id == job_id).values(parts=part_no))
    if complete and get_job(engine, job_id).state == "receiving":
        return close_upload(engine, job_id)
    return get_job(engine, job_id)


def parse_upload(data: bytes) -> pl.DataFrame:
    """The uploaded file as (line, input): line numbers as in the file, the header being line 1."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NetworkError(f"the file is not UTF-8 text (byte {error.start})") from None
    if not text:
        raise NetworkError("the file is empty: line 1 must be a header with an 'insz' column")
    # Lines split by Polars (a million lines make no Python string each); CRLF files are read alike.
    lines = pl.Series("raw", [text.removesuffix("\n")]).str.split("\n").explode().str.strip_suffix("\r")
    first = str(lines[0])
    header = [h.strip().strip('"').lower() for h in first.split(",")]
    if "insz" not in header:
        raise NetworkError(f"line 1: the header {first[:80]!r} has no 'insz' column")
    position = header.index("insz")
    frame = pl.DataFrame(
        {"line": pl.int_range(2, len(lines) + 1, eager=True, dtype=pl.Int64), "raw": lines.slice(1)}
    )
    field = (
        frame["raw"] if len(header) == 1 else frame["raw"].str.split(",").list.get(position, null_on_oob=True)
    )
    cleaned = field.str.strip_chars().str.strip_chars('"').fill_null("")
    return frame.with_columns(cleaned.alias("input")).select("line", "input")


def close_upload(engine: Engine, job_id: int) -> BatchJob:
    """Assemble the parts, validate the file, store the parsed input and queue the job."""
    with engine.connect() as conn:
        bodies = (
            conn.execute(
                select(batch_part.c.body).where(batch_part.c.job_id == job_id).order_by(batch_part.c.part_no)
            )
            .scalars()
            .all()
        )
    joined = b"".join(b if b.endswith(b"\n") else b + b"\n" for b in bodies)
    try:
        lines = parse_upload(joined)
        if lines.height > MAX_LINES:
            raise NetworkError(f"a batch holds at most {MAX_LINES:,} lines; this one has {lines.height:,}")
    except NetworkError as error:
        _fail(engine, job_id, str(error))
        raise Refused(Reason.INVALID_REQUEST, str(error), field="file") from None
    buffer = io.BytesIO()
    lines.write_parquet(buffer, compression="zstd")
    with engine.begin() as conn:
        chunk = conn.execute(select(batch_job.c.chunk_lines).where(batch_job.c.id == job_id)).scalar_one()
        conn.execute(
            update(batch_job)
            .where(batch_job.c.id == job_id)
            .values(
                state="queued",
                input=buffer.getvalue(),
                lines_total=lines.height,
                chunks_total=ceil(lines.height / chunk) if lines.height else 0,
            )
        )
        conn.execute(delete(batch_part).where(batch_part.c.job_id == job_id))
    return get_job(engine, job_id)


def _fail(engine: Engine, job_id: int, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(batch_job)
            .where(batch_job.c.id == job_id)
            .values(state="failed", error=error[:500], finished_at=now())
        )


# --- running ---


class BatchBusy(NetworkError):
    """Another worker holds the job's lease."""


def _claim(engine: Engine, job_id: int, lease: timedelta) -> bool:
    """Take the job for this worker; False when there is nothing to run."""
    with engine.begin() as conn:
        row = conn.execute(select(batch_job).where(batch_job.c.id == job_id).with_for_update()).one()
        if row.state in ("done", "failed", "receiving"):
            return False
        moment = now()
        if row.state == "running" and row.heartbeat_at is not None and moment - row.heartbeat_at < lease:
            raise BatchBusy(
                f"batch {job_id} is being run by another worker (heartbeat {row.heartbeat_at:%H:%M:%S})"
            )
        conn.execute(
            update(batch_job)
            .where(batch_job.c.id == job_id)
            .values(state="running", started_at=row.started_at or moment, heartbeat_at=moment)
        )
    return True


def run(engine: Engine, job_id: int, *, pause: float = 0.0, lease: timedelta = LEASE) -> BatchJob:
    """Run the job's missing chunks; resumes a job whose worker died (its lease expired)."""
    if not _claim(engine, job_id, lease):
        return get_job(engine, job_id)
    try:
        _run_chunks(engine, job_id, pause)
    except Exception as error:
        _fail(engine, job_id, f"{type(error).__name__}: {error}")
        raise
    with engine.begin() as conn:
        conn.execute(
            update(batch_job)
            .where(batch_job.c.id == job_id)
            .values(state="done", finished_at=now(), heartbeat_at=now())
        )
    return get_job(engine, job_id)


def _run_chunks(engine: Engine, job_id: int, pause: float) -> None:
    with engine.connect() as conn:
        row = conn.execute(select(batch_job).where(batch_job.c.id == job_id)).one()
        done = set(
            conn.execute(select(batch_chunk.c.chunk_no).where(batch_chunk.c.job_id == job_id)).scalars()
        )
    todo = [n for n in range(int(row.chunks_total)) if n not in done]
    if not todo:
        return
    lines = pl.read_parquet(io.BytesIO(row.input))
    with engine.connect() as conn:
        try:
            found = covering(conn, row.partner_id, row.service, row.purpose, date.today())
        except Refused as refusal:
            raise NetworkError(f"the deliberation no longer covers this batch: {refusal.message}") from None
    ref = batch_checks.reference(engine, int(row.partner_id), found, row.at, lines)
    kbo = _kbo(engine, int(row.partner_id))
    sqlite = engine.dialect.name == "sqlite"
    # Chunk n is committed by the writer while chunk n+1 is checked: the two overlap on two cores.
    # One writer keeps the commits (and the audit chain) in chunk order.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-writer") as writer:
        pending: Future[None] | None = None
        for chunk_no in todo:
            part = lines.slice(chunk_no * int(row.chunk_lines), int(row.chunk_lines))
            ready = _prepare_chunk(row, chunk_no, part, ref, kbo, sqlite)
            if pending is not None:
                pending.result()
                if pause:
                    time.sleep(pause)
            pending = writer.submit(_commit_chunk, engine, row, ready)
        if pending is not None:
            pending.result()


def _audit(row: Any, checked: pl.DataFrame, kbo: str, elapsed_us: int, sqlite: bool) -> Prepared:
    """One audit record per line, as a single consultation of that line would be logged.

    What the job fixes is a constant (written once, not per line); the refusal decides the rest: an invalid
    number is refused before a deliberation is chosen, and only an answered line has a person, a capacity
    and a provider, as in :meth:`kruispunt.network.hub.Hub._entry`.
    """
    answered = pl.col("reason").is_null()
    lines = checked.select(
        pl.when(answered).then(pl.lit("answered")).otherwise(pl.lit("refused")).alias("outcome"),
        batch_checks.http_status(pl.col("reason")).alias("http_status"),
        pl.format("batch-{}:{}", pl.lit(row.id), pl.col("line")).alias("message_id"),
        "insz",
        "person_id",
        pl.when(~pl.col("reason").eq_missing(Reason.INVALID_INSZ.value))
        .then(pl.lit(row.deliberation))
        .alias("deliberation"),
        "capacity",
        "reason",
        pl.when(answered).then(pl.lit("hub")).alias("provider"),
    )
    constants = {
        "recorded_at": now(),
        "service": row.service,
        # the request is the batch; the message id names the line
        "request_digest": digest("batch", row.id, row.message_id, row.service, str(row.at)),
        "hub_us": elapsed_us // max(1, checked.height),
        "partner_id": int(row.partner_id),
        "requester": kbo,
        "end_user": row.end_user,
        "case_reference": row.case_reference,
        "purpose": row.purpose,
        "provider_us": None,
    }
    return prepare(lines, constants, values=sqlite)


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


@dataclass(frozen=True)
class _Chunk:
    number: int
    lines: int
    answered: int
    rejected: int
    result: bytes
    rejects: bytes
    audit: Prepared


def _prepare_chunk(
    row: Any, chunk_no: int, part: pl.DataFrame, ref: batch_checks.Reference, kbo: str, sqlite: bool
) -> _Chunk:
    """Check a chunk's lines and build its files and audit records (no database access)."""
    started = time.perf_counter_ns()
    checked = batch_checks.check(part, ref)
    answered = checked.filter(pl.col("reason").is_null())
    refused = checked.filter(pl.col("reason").is_not_null())
    audit = _audit(row, checked, kbo, (time.perf_counter_ns() - started) // 1000, sqlite)
    return _Chunk(
        chunk_no,
        part.height,
        answered.height,
        refused.height,
        _parquet(answered.select(RESULT_COLUMNS)),
        _parquet(refused.select(REJECT_COLUMNS)),
        audit,
    )


def _commit_chunk(engine: Engine, row: Any, chunk: _Chunk) -> None:
    """Audit records, result, rejects and progress of one chunk in one transaction; stored once per job."""
    try:
        with engine.begin() as conn:
            first, last = append_prepared(conn, chunk.audit)
            conn.execute(
                batch_chunk.insert().values(
                    job_id=row.id,
                    chunk_no=chunk.number,
                    lines=chunk.lines,
                    answered=chunk.answered,
                    rejected=chunk.rejected,
                    result=chunk.result,
                    rejects=chunk.rejects,
                    audit_first=first,
                    audit_last=last,
                    done_at=now(),
                )
            )
            conn.execute(
                update(batch_job)
                .where(batch_job.c.id == row.id)
                .values(
                    chunks_done=batch_job.c.chunks_done + 1,
                    lines_done=batch_job.c.lines_done + chunk.lines,
                    answered=batch_job.c.answered + chunk.answered,
                    rejected=batch_job.c.rejected + chunk.rejected,
                    heartbeat_at=now(),
                )
            )
    except IntegrityError:
        return  # another worker stored this chunk meanwhile; its answer stands, ours is rolled back


def _kbo(engine: Engine, partner_id: int) -> str:
    from kruispunt.network.tables import partner

    with engine.connect() as conn:
        return str(conn.execute(select(partner.c.kbo).where(partner.c.id == partner_id)).scalar_one())


def run_pending(engine: Engine, *, pause: float = 0.0, lease: timedelta = LEASE) -> list[BatchJob]:
    """Run every queued job, and every running job whose worker stopped answering; oldest first."""
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(batch_job.c.id)
                .where(batch_job.c.state.in_(("queued", "running")))
                .order_by(batch_job.c.id)
            )
            .scalars()
            .all()
        )
    finished = []
    for job_id in ids:
        try:
            finished.append(run(engine, int(job_id), pause=pause, lease=lease))
        except BatchBusy:
            continue
    return finished


# --- results ---


def _frames(engine: Engine, job_id: int, column: Any, columns: tuple[str, ...]) -> pl.DataFrame:
    with engine.connect() as conn:
        blobs = (
            conn.execute(
                select(column).where(batch_chunk.c.job_id == job_id).order_by(batch_chunk.c.chunk_no)
            )
            .scalars()
            .all()
        )
    frames = [pl.read_parquet(io.BytesIO(b)) for b in blobs]
    if not frames:
        return pl.DataFrame(schema={c: pl.String for c in columns})
    return pl.concat(frames, how="vertical_relaxed").sort("line")


def results(engine: Engine, job_id: int) -> pl.DataFrame:
    """Answered lines so far: line, insz, capacity, statuses (JSON array as the single call's)."""
    return _frames(engine, job_id, batch_chunk.c.result, RESULT_COLUMNS)


def rejects(engine: Engine, job_id: int) -> pl.DataFrame:
    """Rejected lines so far: line, input, reason, message."""
    return _frames(engine, job_id, batch_chunk.c.rejects, REJECT_COLUMNS)


def write_csv(frame: pl.DataFrame, target: Path | BinaryIO) -> None:
    frame.write_csv(target)


def list_jobs(engine: Engine, partner_id: int | None = None) -> list[BatchJob]:
    statement = select(batch_job).order_by(batch_job.c.id)
    if partner_id is not None:
        statement = statement.where(batch_job.c.partner_id == partner_id)
    with engine.connect() as conn:
        return [_job(r) for r in conn.execute(statement)]


def count_chunks(engine: Engine, job_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(batch_chunk).where(batch_chunk.c.job_id == job_id)
            ).scalar_one()
        )
