"""Mutation fan-out and batch exchange speed (issue 8).

    .venv/bin/python -m bench.bench_feeds [--persons 1000000] [--changes 100000] [--batch 1000000] \
        [--engines sqlite,postgresql]

Setup (not measured): a register of ``--persons`` persons written straight into its tables; an OCMW that
integrated every person (capacity 2) and a health fund that integrated every other one (capacity 1), both
with a deliberation for all statuses and subscribed to status mutations; ``--changes`` status periods
loaded for as many persons, giving that many ``status.started`` events. Measured: the fan-out of those
events into the partners' feeds (``feeds.dispatch``), and a batch of ``--batch`` INSZ numbers (1 % of them
malformed) for the statuses service from upload to the last chunk, every line checked and audited.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from bench.bench_statuses import database, register_numbers, write_register
from kruispunt import network, statuses
from kruispunt.bootstrap import bootstrap
from kruispunt.network import feeds
from kruispunt.network.hub import CallMeta
from kruispunt.network.tables import integration
from kruispunt.store import bulk_insert

OCMW, FUND = "0212344876", "0411905847"


def _partners(engine: Engine) -> None:
    codes = list(statuses.catalogue().codes)
    for kbo, sector, name, capacity, number in (
        (OCMW, 17, "OCMW", 2, "20/001"),
        (FUND, 6, "Fund", 1, "20/002"),
    ):
        network.add_partner(engine, kbo, sector, name)
        network.add_deliberation(
            engine,
            number=number,
            decided_on=date(2020, 1, 1),
            title=name,
            service="statuses",
            purpose="follow-up",
            fields=codes,
            capacities=[capacity],
            parties=[kbo],
        )
        feeds.subscribe(engine, kbo, ["status"], "follow-up")


def _integrations(engine: Engine, numbers: pl.DataFrame) -> None:
    ids = {kbo: found.id for kbo in (OCMW, FUND) if (found := network.find_partner(engine, kbo))}
    base = numbers.select("person_id", "insz")
    rows = pl.concat(
        [
            base.with_columns(
                pl.lit(ids[OCMW]).alias("partner_id"), pl.lit(17).alias("sector"), pl.lit(2).alias("capacity")
            ),
            base.filter(pl.col("person_id") % 2 == 0).with_columns(
                pl.lit(ids[FUND]).alias("partner_id"), pl.lit(6).alias("sector"), pl.lit(1).alias("capacity")
            ),
        ]
    ).with_columns(
        pl.lit(date(2020, 1, 1)).alias("valid_from"),
        pl.lit(None, pl.Date).alias("valid_to"),
        pl.lit(datetime(2024, 1, 1)).alias("registered_at"),
    )
    with engine.begin() as conn:
        bulk_insert(conn, integration, rows)


def _changes(engine: Engine, numbers: pl.DataFrame, changes: int, workdir: Path) -> None:
    feed = workdir / "changes.csv"
    numbers.head(changes).select(
        "insz",
        pl.lit("LEEFLOON").alias("status"),
        pl.lit("2024-03-01").alias("start_date"),
        pl.lit("").alias("end_date"),
        pl.lit("OCMW").alias("source"),
    ).write_csv(feed)
    feeds.dispatch(engine)  # nothing yet: moves the cursor to the end of the outbox
    statuses.load_status_feed(engine, feed, source="OCMW")


def _batch_file(numbers: pl.DataFrame, lines: int, workdir: Path) -> bytes:
    picked = numbers["insz"].sample(lines, with_replacement=lines > numbers.height, seed=5)
    broken = pl.Series([f"{v[:10]}x" if i % 100 == 0 else v for i, v in enumerate(picked.to_list())])
    path = workdir / "batch.csv"
    pl.DataFrame({"insz": broken}).write_csv(path)
    return path.read_bytes()


def measure(kind: str, args: argparse.Namespace, numbers: pl.DataFrame, workdir: Path) -> None:
    print(f"  {kind} (load average {os.getloadavg()[0]:.1f}):", flush=True)
    with database(kind, workdir) as settings:
        engine = bootstrap(settings).engine
        write_register(engine, numbers)
        _partners(engine)
        _integrations(engine, numbers)
        _changes(engine, numbers, args.changes, workdir)
        start = time.perf_counter()
        report = feeds.dispatch(engine, day=date(2024, 6, 1))
        seconds = time.perf_counter() - start
        print(
            f"    fan-out: {report.events:,} status changes -> {report.entries:,} feed entries "
            f"for {len(report.partners)} partners in {seconds:.2f} s "
            f"({report.entries / seconds:,.0f} entries/s)",
            flush=True,
        )
        body = _batch_file(numbers, args.batch, workdir)
        meta = CallMeta(None, f"bench-{kind}", "bench", "bench", "follow-up")
        caller = feeds.as_partner(engine, OCMW, meta)
        start = time.perf_counter()
        job = feeds.submit_batch(engine, caller, body, at=date(2024, 6, 1))
        uploaded = time.perf_counter() - start
        job = feeds.run_batch(engine, job.id)
        seconds = time.perf_counter() - start
        print(
            f"    batch: {job.lines_total:,} lines ({job.answered:,} answered, {job.rejected:,} rejected, "
            f"{job.lines_total:,} audit records) in {seconds:.2f} s end to end "
            f"(upload and validation {uploaded:.2f} s); {job.lines_total / seconds:,.0f} lines/s",
            flush=True,
        )
        start = time.perf_counter()
        result = feeds.batch_results(engine, job.id)
        print(
            f"    result file: {result.height:,} rows read back in {time.perf_counter() - start:.2f} s",
            flush=True,
        )
        check = network.verify_audit(engine)
        print(f"    audit chain intact: {check.intact} ({check.records:,} records)", flush=True)
        print(f"    load average at the end: {os.getloadavg()[0]:.1f}", flush=True)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    numbers = register_numbers(args.persons)
    print(f"feeds: {args.persons:,} persons, {args.changes:,} changes, batch of {args.batch:,}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.engines.split(","):
            measure(kind, args, numbers, Path(tmp))


if __name__ == "__main__":
    main()
