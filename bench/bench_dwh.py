"""Warehouse benchmark: build on synthetic national-scale frames, then time tables and the memory peak.

    python -m bench.bench_dwh --persons 11700000 --quarters 2019Q1:2024Q4

Frames are generated with numpy (no database), in the shapes the register and the GSS buffer hand over,
so the figure measures the warehouse itself. Prints build time, rows, the peak resident memory of this
process and the time of a two-dimension table over one quarter (median of several runs).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from kruispunt import identity, warehouse
from kruispunt.warehouse.dimensions import status_codes

# Share of persons holding each status at some time, roughly after the public figures.
STATUS_SHARES = {
    "LEEFLOON": 0.015,
    "EQUIV_LEEFLOON": 0.003,
    "VT": 0.15,
    "VT_DEPENDANT": 0.05,
    "IGO": 0.01,
    "IVT": 0.015,
    "IT": 0.015,
    "HANDICAP_66": 0.01,
    "THAB": 0.005,
    "WERKLOOS": 0.04,
    "TIJD_WERKLOOS": 0.03,
    "OVERBRUGGING": 0.005,
}


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(days.astype("datetime64[D]")).cast(pl.Date)


def synthetic_sources(persons: int, seed: int = 0) -> warehouse.Sources:
    """A synthetic population of ``persons`` with households, moves, deaths and status periods."""
    rng = np.random.default_rng(seed)
    person_id = np.arange(1, persons + 1, dtype=np.int64)
    reference = np.datetime64("2024-12-31", "D")
    birth = reference - rng.integers(0, 95 * 365, persons).astype("timedelta64[D]")
    died = rng.random(persons) < 0.01
    death = np.where(
        died,
        np.datetime64("2019-01-01", "D") + rng.integers(0, 6 * 365, persons).astype("timedelta64[D]"),
        reference,
    )
    people = pl.DataFrame(
        {
            "person_id": person_id,
            "birth_date": _dates(birth),
            "sex": np.where(rng.random(persons) < 0.5, "M", "F"),
            "death_date": _dates(death),
        }
    ).with_columns(pl.when(pl.Series(died)).then(pl.col("death_date")).otherwise(None).alias("death_date"))
    household, position = _households(rng, persons)
    roles = np.where(
        position == 0, "head", np.where((position == 1) & (rng.random(persons) < 0.75), "partner", "child")
    )
    roles = np.where(rng.random(persons) < 0.03, "other", roles)
    memberships = pl.DataFrame(
        {
            "person_id": person_id,
            "household_id": pl.Series(household).cast(pl.String),
            "role": roles,
            "valid_from": _dates(np.full(persons, np.datetime64("2000-01-01", "D"))),
            "valid_to": pl.Series([None] * persons, dtype=pl.Date),
        }
    )
    return warehouse.Sources(
        persons=people,
        addresses=_addresses(rng, person_id, household),
        memberships=memberships,
        statuses=_statuses(rng, person_id),
    )


def _households(rng: np.random.Generator, persons: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = rng.choice([1, 2, 3, 4, 5], size=persons // 2 + 1, p=[0.35, 0.3, 0.15, 0.15, 0.05])
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), persons) + 1]
    household = np.repeat(np.arange(len(sizes)), sizes)[:persons]
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    position = np.arange(persons) - np.repeat(starts, sizes)[:persons]
    return household, position


def _addresses(rng: np.random.Generator, person_id: np.ndarray, household: np.ndarray) -> pl.DataFrame:
    codes = identity.municipalities_frame()["municipality_nis"].to_numpy()
    weights = rng.pareto(1.2, len(codes)) + 1
    home = rng.choice(codes, size=household.max() + 1, p=weights / weights.sum())[household]
    moved = rng.random(len(person_id)) < 0.1
    move_day = np.datetime64("2019-01-01", "D") + rng.integers(0, 6 * 365, len(person_id)).astype(
        "timedelta64[D]"
    )
    first = pl.DataFrame(
        {
            "person_id": person_id,
            "municipality_nis": np.where(moved, rng.choice(codes, len(person_id)), home),
            "valid_from": _dates(np.full(len(person_id), np.datetime64("2000-01-01", "D"))),
            "valid_to": _dates(move_day - np.timedelta64(1, "D")),
        }
    ).with_columns(pl.when(pl.Series(moved)).then(pl.col("valid_to")).otherwise(None).alias("valid_to"))
    second = pl.DataFrame(
        {
            "person_id": person_id[moved],
            "municipality_nis": home[moved],
            "valid_from": _dates(move_day[moved]),
            "valid_to": pl.Series([None] * int(moved.sum()), dtype=pl.Date),
        }
    )
    return pl.concat([first, second]).sort("person_id", "valid_from")


def _statuses(rng: np.random.Generator, person_id: np.ndarray) -> pl.DataFrame:
    frames = []
    for code in status_codes():
        holders = person_id[rng.random(len(person_id)) < STATUS_SHARES.get(code, 0.01)]
        start = np.datetime64("2015-01-01", "D") + rng.integers(0, 10 * 365, len(holders)).astype(
            "timedelta64[D]"
        )
        length = rng.integers(30, 5 * 365, len(holders)).astype("timedelta64[D]")
        still_open = rng.random(len(holders)) < 0.4
        frames.append(
            pl.DataFrame(
                {
                    "person_id": holders,
                    "status": code,
                    "start_date": _dates(start),
                    "end_date": _dates(start + length),
                }
            ).with_columns(
                pl.when(pl.Series(still_open)).then(None).otherwise(pl.col("end_date")).alias("end_date")
            )
        )
    return pl.concat(frames)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--quarters", default="2023Q1:2024Q4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table-runs", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    held = [synthetic_sources(args.persons, args.seed)]  # handed over below, so the build can free it
    sources = held[0]
    generated = time.perf_counter() - started
    print(
        f"generated {args.persons:,} persons, {sources.statuses.height:,} status periods: {generated:.1f} s"
    )
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        cpu_before = _cpu_seconds()
        del sources
        report = warehouse.build_from_sources(home, held.pop(), warehouse.quarter_range(args.quarters))
        rows = sum(report.quarters.values())
        print(
            f"build: {len(report.quarters)} quarters, {rows:,} person-quarters in {report.seconds:.1f} s "
            f"wall, {_cpu_seconds() - cpu_before:.1f} s CPU (all threads)"
        )
        print(f"peak resident memory (generation + build): {_peak_rss_gb():.2f} GB")
        last = list(report.quarters)[-1]
        for rows_dims, cols in ((("municipality",), "position"), (("region", "age_band"), "has_vt")):
            timings = []
            for _ in range(args.table_runs):
                begin = time.perf_counter()
                result = warehouse.table(home, rows=rows_dims, cols=cols, quarter=last)
                timings.append(time.perf_counter() - begin)
            suppressed = int(result.suppressed.sum())
            print(
                f"table {'x'.join(rows_dims)} by {cols}, {last}: median {statistics.median(timings):.3f} s "
                f"({len(result.row_keys)} x {len(result.col_keys)} cells, {suppressed} suppressed)"
            )


if __name__ == "__main__":
    main()
