"""Batch exchange: every line checked as a single call, files through the API and the CLI, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from kruispunt import identity, network
from kruispunt.cli import app
from kruispunt.config import Settings
from kruispunt.network import audit, feeds
from kruispunt.network.hub import CallMeta
from kruispunt.network.tables import audit_record
from tests.hub_world import World, headers, sqlite_only

AT = date(2024, 6, 15)
WORKER = (
    "from kruispunt.bootstrap import bootstrap; from kruispunt.network import feeds; "
    "feeds.run_pending_batches(bootstrap(migrate=False).engine, pause=0.3)"
)


def _file(world: World) -> bytes:
    stranger = identity.NumberGenerator(99).insz(date(1990, 1, 1), identity.Sex.MALE).number
    lines = [
        "insz",
        world.head,
        "not-a-number",
        world.child,
        stranger,
        f"{world.head[:6]}.{world.head[6:9]}-{world.head[9:]}",
    ]
    return ("\n".join(lines) + "\n").encode()


def _caller(world: World, message_id: str = "b-1") -> feeds.Caller:
    meta = CallMeta(world.ocmw_token, message_id, "sw-0042", "dossier-7", "social-inquiry")
    return feeds.authenticate(world.engine, meta, "batch", full=True)


def _batch_audit(world: World, job_id: int) -> int:
    with world.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(audit_record)
                .where(audit_record.c.message_id.like(f"batch-{job_id}:%"))
            ).scalar_one()
        )


def test_every_line_is_checked_as_a_single_call_would_be(world: World) -> None:
    job = feeds.submit_batch(world.engine, _caller(world), _file(world), at=AT, chunk_lines=2)
    assert job.state == "queued" and job.lines_total == 5
    done = feeds.run_batch(world.engine, job.id)
    assert (done.state, done.answered, done.rejected, done.lines_done) == ("done", 2, 3, 5)
    result = feeds.batch_results(world.engine, job.id)
    assert result["line"].to_list() == [2, 6] and result["capacity"].to_list() == [2, 2]
    answer = json.loads(result["statuses"][0])
    assert [s["status"] for s in answer] == ["LEEFLOON"] and answer[0]["start_date"] == "2023-01-01"
    refused = feeds.batch_rejects(world.engine, job.id)
    assert dict(zip(refused["line"], refused["reason"], strict=True)) == {
        3: "invalid_insz",
        4: "not_integrated",
        5: "not_integrated",
    }
    assert _batch_audit(world, job.id) == 5
    assert network.verify_audit(world.engine).intact  # bulk records chain like single ones
    logged = _records(world, job.id)
    # As a single call logs: no deliberation before the number parses, a person and capacity when answered.
    assert logged[2] == ("answered", 200, world.head, True, "hub", 2)
    assert logged[3][:4] == ("refused", 400, None, False) and logged[3][4:] == (None, None)
    assert logged[4][:2] == ("refused", 403) and logged[4][3:] == (True, None, None)


def _records(world: World, job_id: int) -> dict[int, tuple[object, ...]]:
    r = audit_record.c
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(
                r.message_id, r.outcome, r.http_status, r.insz, r.deliberation, r.provider, r.capacity
            ).where(r.message_id.like(f"batch-{job_id}:%"))
        ).all()
    return {int(m.split(":")[1]): (o, h, i, d is not None, p, c) for m, o, h, i, d, p, c in rows}


@sqlite_only
def test_outside_the_integration_period_and_refused_submissions(world: World) -> None:
    late = feeds.submit_batch(world.engine, _caller(world, "b-late"), _file(world), at=date(2025, 6, 1))
    feeds.run_batch(world.engine, late.id)
    assert set(feeds.batch_rejects(world.engine, late.id)["reason"]) >= {"outside_integration_period"}
    meta = CallMeta(world.fund_token, "f-1", "x", "y", "social-inquiry")
    fund = feeds.authenticate(world.engine, meta, "batch", full=True)
    try:
        feeds.submit_batch(world.engine, fund, _file(world))
    except network.Refused as refusal:
        assert refusal.reason is network.Reason.NO_DELIBERATION
    else:
        raise AssertionError("a batch without deliberation was accepted")
    try:
        feeds.submit_batch(world.engine, _caller(world, "b-2"), b"number\n123\n")
    except network.Refused as refusal:
        assert "line 1" in refusal.message and "'insz'" in refusal.message
    else:
        raise AssertionError("a file without an insz column was accepted")


def test_batch_round_trip_over_http_in_parts(client: TestClient, world: World) -> None:
    data = _file(world).decode().splitlines(keepends=True)
    first = "".join(data[:3]).encode()
    rest = "".join(data[3:]).encode()
    sent = client.post(
        "/v1/batches",
        params={"at": AT.isoformat(), "complete": "false"},
        content=first,
        headers={**headers(world.ocmw_token, "h-1"), "Content-Type": "text/csv"},
    )
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["id"]
    assert sent.json()["state"] == "receiving"
    closed = client.post(
        f"/v1/batches/{job_id}/parts/2", content=rest, headers=headers(world.ocmw_token, "h-2")
    )
    assert closed.status_code == 202 and closed.json()["lines"] == 5
    status = client.get(f"/v1/batches/{job_id}", headers=headers(world.ocmw_token, "h-3")).json()
    assert status["state"] == "done" and status["progress"] == 1.0
    result = client.get(f"/v1/batches/{job_id}/result", headers=headers(world.ocmw_token, "h-4"))
    assert result.headers["content-type"].startswith("text/csv")
    assert pl.read_csv(result.content)["line"].to_list() == [2, 6]
    refused = client.get(f"/v1/batches/{job_id}/rejects", headers=headers(world.ocmw_token, "h-5"))
    assert pl.read_csv(refused.content)["reason"].to_list() == [
        "invalid_insz",
        "not_integrated",
        "not_integrated",
    ]
    other = client.get(f"/v1/batches/{job_id}", headers=headers(world.fund_token, "h-6"))
    assert other.status_code == 422  # another partner's job does not exist for it
    again = client.post("/v1/batches", content=first, headers=headers(world.ocmw_token, "h-1"))
    assert again.status_code == 409 and again.json()["error"]["reason"] == "message_id_reused"


@sqlite_only
def test_batch_round_trip_through_the_cli(
    world: World, settings: Settings, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from kruispunt.cli import _common

    monkeypatch.setenv("KRUISPUNT_HOME", str(settings.home))
    monkeypatch.setenv("KRUISPUNT_DATABASE_URL", settings.effective_database_url)
    _common.app_state.cache_clear()
    source = tmp_path / "lines.csv"
    source.write_bytes(_file(world))
    runner = CliRunner()
    submitted = runner.invoke(
        app,
        ["batch", "submit", str(source), "--partner", world.ocmw, "--purpose", "social-inquiry",
         "--end-user", "sw-1", "--case-reference", "c-1", "--at", AT.isoformat()],
    )  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "2 answered, 3 rejected" in submitted.output
    job_id = feeds.list_batch_jobs(world.engine)[-1].id
    out, rejects = tmp_path / "result.csv", tmp_path / "rejects.csv"
    fetched = runner.invoke(
        app, ["batch", "fetch", str(job_id), "--out", str(out), "--rejects", str(rejects)]
    )
    assert fetched.exit_code == 0, fetched.output
    assert pl.read_csv(out)["line"].to_list() == [2, 6] and pl.read_csv(rejects).height == 3
    shown = runner.invoke(app, ["batch", "status", str(job_id)])
    assert "done: 5/5 lines" in shown.output
    _common.app_state.cache_clear()


@sqlite_only  # a subprocess start costs seconds; the resume path is the same on PostgreSQL
def test_a_killed_worker_leaves_no_line_answered_twice(world: World, settings: Settings) -> None:
    lines = ["insz"] + [world.head, world.child, "nope"] * 20
    body = ("\n".join(lines) + "\n").encode()
    job = feeds.submit_batch(world.engine, _caller(world, "k-1"), body, at=AT, chunk_lines=5)
    assert job.chunks_total == 12
    env = {
        **os.environ,
        "KRUISPUNT_HOME": str(settings.home),
        "KRUISPUNT_DATABASE_URL": settings.effective_database_url,
    }
    worker = subprocess.Popen(  # what `kruispunt batch work --pause-ms 300` runs, without the whole CLI
        [sys.executable, "-c", WORKER],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while feeds.batch_job(world.engine, job.id).chunks_done < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = feeds.batch_job(world.engine, job.id)
    assert killed.state == "running" and 2 <= killed.chunks_done < 12
    assert feeds.run_pending_batches(world.engine) == []  # its lease has not expired: left alone
    done = feeds.run_batch(world.engine, job.id, lease=timedelta(0))
    assert done.state == "done" and done.lines_done == 60
    answered = feeds.batch_results(world.engine, job.id)["line"].to_list()
    refused = feeds.batch_rejects(world.engine, job.id)["line"].to_list()
    assert sorted(answered + refused) == list(range(2, 62))  # every line once, none twice
    assert _batch_audit(world, job.id) == 60
    assert network.verify_audit(world.engine).intact


@sqlite_only
def test_a_waiting_job_is_taken_up_when_its_status_is_asked(client: TestClient, world: World) -> None:
    job = feeds.submit_batch(world.engine, _caller(world, "w-1"), _file(world), at=AT)  # queued, no worker
    assert job.state == "queued"
    client.get(f"/v1/batches/{job.id}", headers=headers(world.ocmw_token, "w-2"))
    after = client.get(f"/v1/batches/{job.id}", headers=headers(world.ocmw_token, "w-3")).json()
    assert after["state"] == "done" and after["lines_done"] == 5


def test_single_calls_during_a_batch_stay_in_one_chain(world: World) -> None:
    """Records written one by one while a batch commits its chunks interleave into one intact chain."""
    lines = ["insz"] + [world.head, "nope", world.child] * 40
    body = ("\n".join(lines) + "\n").encode()
    job = feeds.submit_batch(world.engine, _caller(world, "c-1"), body, at=AT, chunk_lines=7)
    stop = threading.Event()

    def single_calls() -> int:
        written = 0
        while not stop.is_set() or written < 5:
            with world.engine.begin() as conn:
                audit.append(conn, [audit.AuditEntry(datetime.now(), "statuses", "answered", 200, "x", 1)])
            written += 1
        return written

    with ThreadPoolExecutor(max_workers=1) as pool:
        others = pool.submit(single_calls)
        done = feeds.run_batch(world.engine, job.id)
        stop.set()
        written = others.result()
    assert done.state == "done" and _batch_audit(world, job.id) == 120
    check = network.verify_audit(world.engine)
    assert check.intact and check.records == 120 + written, check


def test_small_and_large_batches_read_alike(world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Filtered to the batch's persons (small) or read whole (large): the same answers and reasons."""
    from kruispunt.network.feeds import batch_checks

    small = feeds.submit_batch(world.engine, _caller(world, "s-1"), _file(world), at=AT)
    feeds.run_batch(world.engine, small.id)
    monkeypatch.setattr(batch_checks, "FILTERED_UP_TO", 0)
    large = feeds.submit_batch(world.engine, _caller(world, "s-2"), _file(world), at=AT)
    feeds.run_batch(world.engine, large.id)
    assert feeds.batch_results(world.engine, small.id).equals(feeds.batch_results(world.engine, large.id))
    assert feeds.batch_rejects(world.engine, small.id).equals(feeds.batch_rejects(world.engine, large.id))
    assert feeds.batch_job(world.engine, small.id).answered == 2
    monkeypatch.setattr(batch_checks, "FILTERED_UP_TO", 100)
    invalid = feeds.submit_batch(world.engine, _caller(world, "s-3"), b"insz\nnope\n123\n", at=AT)
    assert feeds.run_batch(world.engine, invalid.id).rejected == 2  # no valid number: nothing to read


def test_inlined_reference_values_are_digits_only() -> None:
    """Numbers written into a reference read's SQL are refused unless they are plain digits."""
    from kruispunt.network.feeds.batch_checks import _inline

    assert _inline("85073003328") == "'85073003328'"
    assert _inline(42) == "42"
    for hostile in ("1' OR '1'='1", "١٢٣", ""):
        with pytest.raises(ValueError, match="not a string of digits"):
            _inline(hostile)


def test_a_revoked_token_is_refused_on_the_partners_name(client: TestClient, world: World) -> None:
    """Feed and batch calls check tokens as the hub does; a revoked one is logged against its partner."""
    network.revoke_tokens(world.engine, world.huy)
    refused = client.get("/v1/batches/1", headers=headers(world.huy_token, "r-1"))
    assert refused.status_code == 401 and refused.json()["error"]["reason"] == "token_revoked"
    unknown = client.get("/v1/batches/1", headers=headers("not-a-token", "r-2"))
    assert unknown.status_code == 401 and unknown.json()["error"]["reason"] == "token_invalid"
    with world.engine.connect() as conn:
        logged = conn.execute(
            select(audit_record.c.reason, audit_record.c.requester)
            .order_by(audit_record.c.seq.desc())
            .limit(2)
        ).all()
    assert [tuple(row) for row in logged] == [("token_invalid", None), ("token_revoked", world.huy)]
