"""Register load speed (issue 2): a 100,000-person register feed into SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_register [--persons 100000] [--engines sqlite,postgresql]

Prints rows per second for a first load (all persons new) and a second load of a changed file
(5 % moved house), on each engine. PostgreSQL runs in a throwaway local cluster.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from bench.databases import database
from kruispunt.bootstrap import bootstrap
from kruispunt.identity import all_municipalities, insz_numbers, load_register


def register_frame(persons: int, seed: int = 1) -> pl.DataFrame:
    """Valid register rows: households of 1-4 persons in random municipalities."""
    rng = np.random.default_rng(seed)
    births = np.datetime64("1935-01-01") + rng.integers(0, 32_000, persons).astype("timedelta64[D]")
    male = rng.random(persons) < 0.49
    household_index = np.cumsum(rng.random(persons) < 0.43) - 1
    first_of_household = np.r_[True, household_index[1:] != household_index[:-1]]
    places = [(m.nis, m.postal_codes[0]) for m in all_municipalities() if m.postal_codes]
    place_of_household = rng.integers(0, len(places), household_index.max() + 1)
    nis = np.array([p[0] for p in places])[place_of_household][household_index]
    postal = np.array([p[1] for p in places])[place_of_household][household_index]
    return pl.DataFrame(
        {
            "insz": insz_numbers(births, male),
            "last_name": [f"Naam{i % 997}" for i in household_index],
            "first_name": np.where(male, "Jan", "Marie"),
            "birth_date": births.astype("datetime64[D]").astype(str),
            "sex": np.where(male, "M", "F"),
            "death_date": "",
            "household_id": [f"HH{i:08d}" for i in household_index],
            "household_role": np.where(first_of_household, "head", "other"),
            "municipality_nis": nis,
            "postal_code": postal,
            "street": "Kerkstraat",
            "house_number": (household_index % 200 + 1).astype(str),
            "address_from": "2015-01-01",
        }
    )


def measure(kind: str, first: Path, second: Path, rows: int, workdir: Path) -> None:
    with database(kind, workdir) as settings:
        engine = bootstrap(settings).engine
        start = time.perf_counter()
        load_register(engine, first, as_of=date(2024, 1, 1))
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        report = load_register(engine, second, as_of=date(2024, 7, 1))
        second_seconds = time.perf_counter() - start
        engine.dispose()
    print(
        f"{kind:>10}: first load {rows:,} rows in {first_seconds:.2f} s "
        f"= {rows / first_seconds:,.0f} rows/s; "
        f"changed file ({report.addresses_changed:,} moves) in {second_seconds:.2f} s = "
        f"{rows / second_seconds:,.0f} rows/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        frame = register_frame(args.persons)
        first = workdir / "register-1.csv"
        frame.write_csv(first)
        moved = np.random.default_rng(2).random(frame.height) < 0.05
        second = workdir / "register-2.csv"
        frame.with_columns(
            pl.when(pl.Series(moved)).then(pl.lit("Nieuwstraat")).otherwise(pl.col("street")).alias("street"),
            pl.when(pl.Series(moved))
            .then(pl.lit("2024-06-01"))
            .otherwise(pl.col("address_from"))
            .alias("address_from"),
        ).write_csv(second)
        for kind in args.engines.split(","):
            measure(kind, first, second, frame.height, workdir)


if __name__ == "__main__":
    main()
