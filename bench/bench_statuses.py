"""GSS buffer speed (issue 4): load a national status feed, look people up, export all periods.

    .venv/bin/python -m bench.bench_statuses [--persons 200000] [--periods 250000] \
        [--engines sqlite,postgresql] [--format parquet|csv] [--lookups 2000]

National scale: ``--persons 11760000 --periods 15000000``. The register is written straight into its
tables (setup, not measured); the status file holds every source's periods (``source="*"``), with
overlapping and adjacent periods to merge. Prints, per engine: the first load (rows/s, full validation),
a second load of the same file (nothing changes), a person's statuses at a date (p50/p99 over random
holders, timed in a process of their own) and the columnar export of all current periods. PostgreSQL runs
in a throwaway local cluster.
The feed is Parquet by default, as the synthetic country writes it; ``--format csv`` measures the CSV
reader too. The load average is printed per engine: the figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import Engine, text

from bench.databases import database
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings
from kruispunt.identity import insz_numbers
from kruispunt.identity.tables import person, person_number
from kruispunt.statuses import ALL_SOURCES, catalogue, load_status_feed, periods_frame, person_statuses
from kruispunt.store import bulk_insert

# Rough shares of the periods per status (VT dominates, as 18.9 % of Belgians hold it).
_WEIGHTS = {
    "VT": 0.30,
    "VT_DEPENDANT": 0.20,
    "LEEFLOON": 0.06,
    "EQUIV_LEEFLOON": 0.02,
    "IGO": 0.05,
    "IVT": 0.05,
    "IT": 0.05,
    "HANDICAP_66": 0.04,
    "THAB": 0.03,
    "WERKLOOS": 0.08,
    "TIJD_WERKLOOS": 0.10,
    "OVERBRUGGING": 0.02,
}


def register_numbers(persons: int, seed: int = 1) -> pl.DataFrame:
    """person_id, insz, birth_date, sex for a synthetic register."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1925-01-01") + rng.integers(0, 36_500, persons).astype("timedelta64[D]")
    male = rng.random(persons) < 0.49
    return pl.DataFrame(
        {
            "person_id": np.arange(1, persons + 1, dtype=np.int64),
            "insz": insz_numbers(births, male),
            "birth_date": births.astype("datetime64[D]"),
            "sex": np.where(male, "M", "F"),
        }
    )


def status_frame(numbers: pl.DataFrame, periods: int, seed: int = 2) -> pl.DataFrame:
    """Status rows for a pool of holders, about 2.5 periods each, some overlapping or adjacent."""
    rng = np.random.default_rng(seed)
    holders = rng.choice(numbers.height, size=max(1, int(periods / 2.5)), replace=False)
    who = holders[rng.integers(0, len(holders), periods)]
    codes = list(_WEIGHTS)
    weights = np.array(list(_WEIGHTS.values()))
    status = np.array(codes)[rng.choice(len(codes), periods, p=weights / weights.sum())]
    cat = catalogue()
    first_source = {code: cat.status(code).sources[0] for code in codes}
    start = np.datetime64("2010-01-01") + rng.integers(0, 5_400, periods).astype("timedelta64[D]")
    end = start + rng.integers(0, 1_500, periods).astype("timedelta64[D]")
    open_end = rng.random(periods) < 0.3
    return pl.DataFrame(
        {
            "insz": numbers["insz"].gather(who),
            "status": status,
            "start_date": start.astype(str),
            "end_date": np.where(open_end, "", end.astype(str)),
            "source": [first_source[s] for s in status],
        }
    )


def write_register(engine: Engine, numbers: pl.DataFrame) -> None:
    """Setup only: persons and numbers straight into the register tables."""
    now = datetime(2024, 1, 1)
    with engine.begin() as conn:
        bulk_insert(
            conn,
            person,
            numbers.select(
                pl.col("person_id").alias("id"),
                pl.lit("Peeters").alias("last_name"),
                pl.lit("An").alias("first_name"),
                pl.col("birth_date").cast(pl.Date),
                "sex",
                pl.lit(None, pl.Date).alias("death_date"),
                pl.lit(now).alias("updated_at"),
            ),
        )
        bulk_insert(
            conn,
            person_number,
            numbers.sort("insz").select(
                "insz",
                "person_id",
                pl.lit("nr").alias("kind"),
                pl.lit(now).alias("assigned_at"),
                pl.lit(None, pl.Datetime("us")).alias("replaced_at"),
            ),
        )
    # A register loaded long before, as in production: on disk, and on PostgreSQL vacuumed and analysed,
    # so that neither the kernel's write-back of gigabytes of fresh pages nor autovacuum visiting 23 M
    # fresh rows runs beside the measured load on the two cores.
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) person, person_number"))
            conn.execute(text("CHECKPOINT"))
    os.sync()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _timed(label: str, action):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    print(f"    {label}: {seconds:.2f} s", flush=True)
    return result, seconds


def measure(kind: str, numbers: pl.DataFrame, feed: Path, rows: int, lookups: int, workdir: Path) -> None:
    print(f"  {kind}: (load average {_load()})", flush=True)
    with database(kind, workdir) as settings:
        engine = bootstrap(settings).engine
        _timed("register setup (not part of the figures)", lambda: write_register(engine, numbers))
        periods_frame(engine)  # imports the columnar readers, so that the first load does not pay for it
        report, seconds = _timed("first load", lambda: load_status_feed(engine, feed, source=ALL_SOURCES))
        print(
            f"    first load: {rows:,} rows -> {report.periods_added:,} merged periods, "
            f"{report.events:,} events; {rows / seconds:,.0f} rows/s",
            flush=True,
        )
        again, seconds = _timed("same file again", lambda: load_status_feed(engine, feed, source=ALL_SOURCES))
        assert not again.changed_anything
        print(f"    same file again: {rows / seconds:,.0f} rows/s, nothing changed", flush=True)
        _lookups(settings, feed, lookups)
        frame, seconds = _timed("columnar export (periods_frame)", lambda: periods_frame(engine))
        print(f"    export: {frame.height:,} periods, {frame.height / seconds:,.0f} rows/s", flush=True)
        print(f"    (load average {_load()})", flush=True)
        engine.dispose()


def _lookups(settings: Settings, feed: Path, lookups: int) -> None:
    """Time lookups in a process of their own, as a server answers them: not in this one, which has
    just loaded the country twice and is still handing gigabytes of freed memory back to the system."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        p50, p99 = pool.apply(_lookup_percentiles, (settings, feed, lookups))
    print(f"    person_statuses(at=...): {lookups:,} lookups, p50 {p50:.3f} ms, p99 {p99:.3f} ms", flush=True)


def _lookup_percentiles(settings: Settings, feed: Path, lookups: int) -> tuple[float, float]:
    engine = bootstrap(settings).engine
    if feed.suffix == ".parquet":
        holders = pl.read_parquet(feed, columns=["insz"])
    else:
        holders = pl.read_csv(feed, columns=["insz"], schema_overrides={"insz": pl.String})
    sample = holders["insz"].sample(lookups, with_replacement=True, seed=3).to_list()
    on = date(2021, 1, 1)
    for insz in sample[:50]:  # warm the caches
        person_statuses(engine, insz, at=on)
    timings = []
    for insz in sample:
        start = time.perf_counter()
        person_statuses(engine, insz, at=on)
        timings.append(time.perf_counter() - start)
    engine.dispose()
    p50, p99 = np.percentile(np.array(timings) * 1000, [50, 99])
    return float(p50), float(p99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--periods", type=int, default=250_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        numbers = register_numbers(args.persons)
        frame = status_frame(numbers, args.periods)
        feed = workdir / f"statuses.{args.format}"
        if args.format == "csv":
            frame.write_csv(feed)
        else:
            frame.write_parquet(feed)
        print(f"statuses: {args.persons:,} persons, {frame.height:,} status rows ({args.format})", flush=True)
        for kind in args.engines.split(","):
            measure(kind, numbers, feed, frame.height, args.lookups, workdir)


if __name__ == "__main__":
    main()
