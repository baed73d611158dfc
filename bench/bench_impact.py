"""Benchmark of the impact simulation: one municipality with three variants, and the national view.

1. A municipality (default Herstal, 62051, about 41,000 persons) generated with ``kruispunt.synth``, loaded
   into a fresh SQLite database, then ``impact.simulate`` of its waste-tax exemption with three variants,
   timed whole (database reads included) as the CLI runs it.
2. The national view of a federal rule (default the Covid premium) over all 565 municipalities: the synthetic
   files are turned into the frames the register and the GSS buffer would give (loading eleven million persons
   into SQLite is the register benchmark's subject, not this one), and ``impact.simulate_frames`` is timed.

Usage: ``python -m bench.bench_impact [--municipality 62051] [--persons 11760000] [--skip-national]``.
Wrap national runs in the heavy-work lock: they need several GB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

from kruispunt import identity, impact, rights, statuses, synth
from kruispunt.bootstrap import bootstrap
from kruispunt.config import Settings

VARIANTS = ("dearer:amount=150", "without-vt:grounds=LEEFLOON+IGO+IVT", "with-thab:statuses.THAB=THAB")
MUNICIPAL_RULES = {
    "61031": "waste-tax-exemption-huy",
    "64065": "waste-tax-exemption-saint-georges-sur-meuse",
    "62051": "waste-tax-exemption-herstal",
}


def municipality(nis: str, folder: Path) -> None:
    synth.generate(None, 6, [nis], "parquet", folder / "synth")
    app = bootstrap(Settings(home=folder / "home"))
    identity.load_register(app.engine, folder / "synth" / "register.parquet", as_of=synth.DEFAULT_AS_OF)
    statuses.load_status_feed(app.engine, folder / "synth" / "statuses.parquet", source="*")
    variants = [impact.Variant.parse(v) for v in VARIANTS]
    rule = MUNICIPAL_RULES[nis]
    day = date(synth.DEFAULT_AS_OF.year, 1, 1)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        figures = impact.simulate(app.engine, rule, nis, day, variants=variants).as_dict()
        timings.append(time.perf_counter() - started)
    persons = identity.register_counts(app.engine)
    print(
        f"{rule}: register {persons}; {figures['baseline']['beneficiaries']:,} households, "
        f"€ {figures['baseline']['cost']}; simulate with 3 variants: best {min(timings):.2f} s, "
        f"runs {', '.join(f'{t:.2f}' for t in timings)} s"
    )


def national(persons: int, folder: Path, rule_id: str, day: date) -> None:
    started = time.perf_counter()
    synth.generate(persons, 6, None, "parquet", folder / "national")
    print(f"generated {persons:,} persons in {time.perf_counter() - started:.0f} s")
    population, periods = _frames(folder / "national")
    rule = rights.load_rule(rule_id)
    catalogue = rights.load_catalogue()
    frames = impact.Frames.of(population, periods, [day])
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        figures = impact.simulate_frames(rule, frames, day, [], catalogue).as_dict()
        timings.append(time.perf_counter() - started)
    print(
        f"{rule_id} national on {day}: {figures['baseline']['beneficiaries']:,} beneficiaries in "
        f"{len(figures['baseline']['by_municipality'])} municipalities, € {figures['baseline']['cost']}; "
        f"simulate_frames best {min(timings):.2f} s (runs {', '.join(f'{t:.2f}' for t in timings)} s)"
    )


def _frames(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The synthetic files as the columnar frames ``identity.population(..., household_keys=True)`` and
    ``periods_frame`` return."""
    register = (
        pl.read_parquet(folder / "register.parquet")
        .with_row_index("person_id")
        .filter(pl.col("death_date").is_null())
    )
    population = register.select(
        pl.col("person_id").cast(pl.Int64),
        "insz",
        pl.col("birth_date").str.to_date(strict=False),
        "municipality_nis",
        "household_id",
        "household_role",
        # the integer key identity.population(..., household_keys=True) hands over beside the id
        household_key=pl.col("household_id").rank("dense").cast(pl.Int64),
    )
    ids = population.select("insz", "person_id")
    periods = (
        pl.read_parquet(folder / "statuses.parquet")
        .join(ids, on="insz")
        .select(
            "person_id",
            "status",
            pl.col("start_date").str.to_date(),
            pl.col("end_date").str.to_date(strict=False),
        )
    )
    return population, periods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipality", default="62051", choices=sorted(MUNICIPAL_RULES))
    parser.add_argument("--persons", type=int, default=11_760_000)
    parser.add_argument("--rule", default="covid-premium-2020")
    parser.add_argument("--date", default="2021-03-01")
    parser.add_argument("--skip-national", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-impact-") as folder:
        municipality(args.municipality, Path(folder))
        if not args.skip_national:
            national(args.persons, Path(folder), args.rule, date.fromisoformat(args.date))


if __name__ == "__main__":
    main()
