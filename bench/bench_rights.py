"""Derived-rights benchmark: a national household exemption, kruispunt against OpenFisca-core.

    python -m bench.bench_rights --persons 11700000 --periods 15000000

Synthetic national frames (persons with households and municipalities, status periods) are generated
with numpy and stored as Parquet, the columnar form bulk work reads. Then, each in a fresh process so
its memory peak is its own:

- kruispunt, twice: from the stored files handed over as Parquet scans (only the columns and periods the
  rule needs are read) down to the decision table, end to end; and with the files read whole first, so
  that the evaluation alone is timed. The rule is the household waste-tax exemption for the whole country
  (the Huy rule with its residence condition lifted);
- OpenFisca-core (dependency group ``bench``: ``uv sync --group bench``): the same rule on the same
  population, from the same stored files (the columns it uses; periods filtered as they are read).
  OpenFisca has no notion of a status period, so the periods are first reduced to "held on 1 January" per
  person (with Polars, counted in its time), then a simulation with persons and households computes the
  exemption as a household variable with the same ground order.

Prints wall-clock and CPU times (CPU time is the steadier figure on a shared machine), the ratio, the
memory peaks, and whether both found the same households on the same grounds.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

REFERENCE = date(2024, 1, 1)
# share of the status periods per code, roughly after the public prevalences
PERIOD_SHARES = {
    "VT": 0.36,
    "VT_DEPENDANT": 0.22,
    "LEEFLOON": 0.05,
    "EQUIV_LEEFLOON": 0.01,
    "IGO": 0.04,
    "IVT": 0.05,
    "IT": 0.05,
    "WERKLOOS": 0.14,
    "TIJD_WERKLOOS": 0.08,
}
HOUSEHOLD_SIZES = (0.35, 0.31, 0.15, 0.12, 0.05, 0.02)  # 1..6 persons, mean about 2.3
GROUNDS = [
    ("LEEFLOON", ("LEEFLOON", "EQUIV_LEEFLOON")),
    ("IGO", ("IGO",)),
    ("IVT", ("IVT",)),
    ("VT", ("VT", "VT_DEPENDANT")),
]


def generate(persons: int, periods: int, seed: int, out: Path) -> dict[str, int]:
    """Write population.parquet and periods.parquet (the shapes identity and statuses hand over)."""
    from kruispunt import identity

    rng = np.random.default_rng(seed)
    sizes = rng.choice(np.arange(1, 7), size=persons, p=HOUSEHOLD_SIZES)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), persons) + 1]
    household = np.repeat(np.arange(sizes.size), sizes)[:persons]
    first = np.r_[True, household[1:] != household[:-1]]
    position = np.arange(persons) - np.maximum.accumulate(np.where(first, np.arange(persons), 0))
    roles = np.array(["head", "partner", "child"])[np.minimum(position, 2)]
    nis_codes = identity.municipalities_frame()["municipality_nis"].to_numpy()
    home = nis_codes[rng.integers(0, nis_codes.size, sizes.size)][household]
    birth_days = rng.integers(
        (date(1925, 1, 1) - date(1970, 1, 1)).days, (date(2023, 12, 31) - date(1970, 1, 1)).days, persons
    )
    population = pl.DataFrame(
        {
            "person_id": np.arange(1, persons + 1, dtype=np.int64),
            "birth_date": birth_days.astype("datetime64[D]"),
            "municipality_nis": home,
            "household_id": household,
            "household_role": roles,
        }
    ).with_columns(
        insz=pl.col("person_id").cast(pl.String).str.zfill(11),
        household_id=pl.lit("H") + pl.col("household_id").cast(pl.String),
    )
    # the integer household key identity.population(..., household_keys=True) hands over beside the id
    population = population.with_columns(household_key=pl.col("household_id").rank("dense").cast(pl.Int64))
    population.write_parquet(out / "population.parquet")
    codes = np.array(list(PERIOD_SHARES))
    start = rng.integers(
        (date(2005, 1, 1) - date(1970, 1, 1)).days, (date(2024, 12, 31) - date(1970, 1, 1)).days, periods
    )
    length = rng.integers(30, 3000, periods)
    open_ended = rng.random(periods) < 0.45
    pl.DataFrame(
        {
            "person_id": rng.integers(1, persons + 1, periods, dtype=np.int64),
            "status": codes[rng.choice(codes.size, periods, p=list(PERIOD_SHARES.values()))],
            "start_date": start.astype("datetime64[D]"),
            "end_date": np.where(open_ended, np.datetime64("NaT"), (start + length).astype("datetime64[D]")),
        }
    ).write_parquet(out / "periods.parquet")
    return {"persons": persons, "households": int(sizes.size), "periods": periods}


def national_rule() -> Any:
    """The Huy exemption without its residence condition: a household exemption for the whole country."""
    from kruispunt import rights

    return rights.load_rule("waste-tax-exemption-huy").override(
        id="national-waste-tax-exemption", conditions={}
    )


def peak_mb() -> float:
    """This process's peak resident memory. Not getrusage: its maximum carries over from the parent that
    forked the measuring process (the one that generated the data), VmHWM starts again at exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_kruispunt(data: Path) -> dict[str, Any]:
    """Stored frames read whole, then evaluated: the time of the evaluation alone."""
    from kruispunt import rights

    rule = national_rule()
    rights.status_codes()  # the catalogue is read once per process, not per evaluation
    started, cpu_started = time.perf_counter(), time.process_time()
    population = pl.read_parquet(data / "population.parquet")
    periods = pl.read_parquet(data / "periods.parquet")
    read, cpu_read = time.perf_counter(), time.process_time()
    decisions = rights.evaluate_frames(rule, population, periods, on=REFERENCE)
    done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "engine": "kruispunt (read, then evaluate)",
        "read_s": read - started,
        "evaluate_s": done - read,
        "total_s": done - started,
        "evaluate_cpu_s": cpu_done - cpu_read,
        "total_cpu_s": cpu_done - cpu_started,
        **_granted(decisions),
    }


def measure_kruispunt_scan(data: Path) -> dict[str, Any]:
    """Stored frames handed over as Parquet scans: only the columns and periods the rule needs are read."""
    from kruispunt import rights

    rule = national_rule()
    rights.status_codes()
    started, cpu_started = time.perf_counter(), time.process_time()
    population = pl.scan_parquet(data / "population.parquet")
    periods = pl.scan_parquet(data / "periods.parquet")
    decisions = rights.evaluate_frames(rule, population, periods, on=REFERENCE)
    done, cpu_done = time.perf_counter(), time.process_time()
    return {
        "engine": "kruispunt (from the stored files)",
        "total_s": done - started,
        "total_cpu_s": cpu_done - cpu_started,
        **_granted(decisions),
    }


def _granted(decisions: pl.DataFrame) -> dict[str, Any]:
    granted = decisions.filter(pl.col("decision") == "granted")
    return {
        "peak_mb": peak_mb(),
        "decisions": decisions.height,
        "granted_households": granted.height,
        "checksum": int(granted["household_id"].str.slice(1).cast(pl.Int64).sum()),
        "by_ground": dict(granted.group_by("ground").len().sort("ground").iter_rows()),
    }


def measure_openfisca(data: Path) -> dict[str, Any]:
    """The same rule in OpenFisca-core: inputs per person, a household variable with the ground order."""
    started, cpu_started = time.perf_counter(), time.process_time()
    # the columns it uses, and only the periods running on the reference date (filtered as they are read)
    population = pl.read_parquet(
        data / "population.parquet", columns=["person_id", "household_id", "household_role"]
    )
    ref = pl.lit(REFERENCE)
    held = (
        pl.scan_parquet(data / "periods.parquet")
        .filter((pl.col("start_date") <= ref) & (pl.col("end_date").is_null() | (pl.col("end_date") >= ref)))
        .collect()
    )
    index = population["person_id"].to_numpy() - 1
    flags = {}
    for ground, codes in GROUNDS:
        holders = held.filter(pl.col("status").is_in(codes))["person_id"].unique().to_numpy() - 1
        flag = np.zeros(population.height, dtype=bool)
        flag[holders] = True
        flags[ground.lower()] = flag[index]
    simulation = _openfisca_simulation(population)
    for name, values in flags.items():
        simulation.set_input(f"holds_{name}", "2024", values)
    prepared, cpu_prepared = time.perf_counter(), time.process_time()
    ground = simulation.calculate("exemption_ground", "2024")
    amount = simulation.calculate("exemption_amount", "2024")
    done, cpu_done = time.perf_counter(), time.process_time()
    household_ids = np.asarray(simulation.populations["household"].ids)
    granted = ground > 0
    labels = ["", *[g for g, _ in GROUNDS]]
    counts: dict[str, int] = {}
    for code, total in zip(*np.unique(ground[granted], return_counts=True), strict=True):
        counts[labels[int(code)]] = int(total)
    return {
        "engine": "openfisca-core",
        "prepare_s": prepared - started,
        "evaluate_s": done - prepared,
        "total_s": done - started,
        "evaluate_cpu_s": cpu_done - cpu_prepared,
        "total_cpu_s": cpu_done - cpu_started,
        "peak_mb": peak_mb(),
        "granted_households": int(granted.sum()),
        "total_amount": float(amount.sum()),
        "checksum": int(sum(int(h[1:]) for h in household_ids[granted]))
        if granted.sum() < 2_000_000
        else int(pl.Series(household_ids[granted]).str.slice(1).cast(pl.Int64).sum()),
        "by_ground": dict(sorted(counts.items())),
    }


def _openfisca_simulation(population: pl.DataFrame) -> Any:
    from openfisca_core import periods as of_periods
    from openfisca_core.entities import build_entity
    from openfisca_core.simulations import SimulationBuilder
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    person = build_entity("person", "persons", "A person", is_person=True)
    household = build_entity(
        "household",
        "households",
        "A household",
        roles=[
            {"key": "head", "max": 1},
            {"key": "partner", "max": 1},
            {"key": "child", "plural": "children"},
        ],
    )
    system = TaxBenefitSystem([person, household])
    year = of_periods.DateUnit.YEAR

    for ground, _ in GROUNDS:
        system.add_variable(
            type(
                f"holds_{ground.lower()}",
                (Variable,),
                {
                    "value_type": bool,
                    "entity": person,
                    "definition_period": year,
                    "label": f"holds {ground} on 1 January",
                },
            )
        )

    def ground_formula(household_: Any, period: Any) -> Any:
        result = np.zeros(household_.count, dtype=np.int32)
        for code, (name, _) in reversed(list(enumerate(GROUNDS, start=1))):
            any_member = household_.any(household_.members(f"holds_{name.lower()}", period))
            result = np.where(any_member, code, result)
        return result

    def amount_formula(household_: Any, period: Any) -> Any:
        return (household_("exemption_ground", period) > 0) * 95.0

    system.add_variable(
        type(
            "exemption_ground",
            (Variable,),
            {
                "value_type": int,
                "entity": household,
                "definition_period": year,
                "label": "ground (0 = none)",
                "formula": ground_formula,
            },
        )
    )
    system.add_variable(
        type(
            "exemption_amount",
            (Variable,),
            {
                "value_type": float,
                "entity": household,
                "definition_period": year,
                "label": "exempted tax",
                "formula": amount_formula,
            },
        )
    )
    builder = SimulationBuilder()
    builder.create_entities(system)
    builder.declare_person_entity("person", population["person_id"].cast(pl.String).to_numpy())
    households = builder.declare_entity(
        "household", population["household_id"].unique(maintain_order=True).to_numpy()
    )
    builder.join_with_persons(
        households, population["household_id"].to_numpy(), population["household_role"].to_numpy()
    )
    return builder.build(system)


MEASURES = {
    "kruispunt": measure_kruispunt,
    "kruispunt-scan": measure_kruispunt_scan,
    "openfisca": measure_openfisca,
}


def _child(mode: str, data: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "bench.bench_rights", "--measure", mode, "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return {
            "engine": mode,
            "error": result.stderr.strip().splitlines()[-1] if result.stderr else "failed",
        }
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--periods", type=int, default=None, help="default: 1.28 per person")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-openfisca", action="store_true")
    parser.add_argument("--measure", choices=sorted(MEASURES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(MEASURES[args.measure](args.data)))
        return
    periods = args.periods or int(args.persons * 1.28)
    with tempfile.TemporaryDirectory(prefix="bench-rights-") as folder:
        data = Path(folder)
        started = time.perf_counter()
        sizes = generate(args.persons, periods, args.seed, data)
        print(
            f"data: {sizes['persons']:,} persons, {sizes['households']:,} households, "
            f"{sizes['periods']:,} periods (generated and stored as Parquet in "
            f"{time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        _report(_child("kruispunt", data))
        ours = _child("kruispunt-scan", data)
        _report(ours)
        if args.skip_openfisca:
            return
        theirs = _child("openfisca", data)
        _report(theirs)
        if "error" not in ours and "error" not in theirs:
            same = (
                ours["granted_households"] == theirs["granted_households"]
                and ours["checksum"] == theirs["checksum"]
                and ours["by_ground"] == theirs["by_ground"]
            )
            print(
                f"same households and grounds: {'yes' if same else 'NO'}; "
                f"end to end OpenFisca-core / kruispunt = "
                f"{theirs['total_s'] / ours['total_s']:.1f} (wall clock), "
                f"{theirs['total_cpu_s'] / ours['total_cpu_s']:.1f} (CPU time)"
            )


def _report(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"{result['engine']}: FAILED: {result['error']}")
        return
    parts = [f"{k} {v:.2f}" for k, v in result.items() if k.endswith("_s")]
    print(
        f"{result['engine']}: {', '.join(parts)} s; peak {result['peak_mb']:,.0f} MB; "
        f"{result['granted_households']:,} households granted {result['by_ground']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
