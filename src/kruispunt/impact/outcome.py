"""One rule (the baseline or a variant) decided over the frames, and its reach and cost broken down.

Three counts answer "whom does it reach": *beneficiaries* (the rule's own unit: households for a household
right, persons for a personal one, as ``kruispunt rights evaluate`` counts them), *households* reached, and
*persons* reached (every member of a beneficiary household). Breakdowns by ground and household type count
beneficiaries; the age-band breakdown counts persons reached by their own age, and puts each beneficiary and
its cost in the band of the person who receives it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from kruispunt import identity, rights
from kruispunt.impact.frames import Frames, reference_dates
from kruispunt.impact.people import AGE_BANDS, HOUSEHOLD_TYPES, UNKNOWN, People


@dataclass(frozen=True)
class Outcome:
    """A rule's decisions on one date, the population they were taken on, and the beneficiaries described."""

    name: str
    rule: rights.Rule
    on: date
    reference_date: date
    decisions: pl.DataFrame
    beneficiaries: pl.DataFrame
    reached: pl.DataFrame
    people: People

    @property
    def key(self) -> str:
        """The column that identifies a beneficiary: household_id or person_id."""
        return "household_id" if self.rule.beneficiary.entity == "household" else "person_id"

    def population_groups(self) -> pl.DataFrame:
        """person_id and group (household, or the person alone) of everyone the decisions were taken on."""
        return self.people.groups()

    def summary(self) -> dict[str, Any]:
        """The same summary ``kruispunt rights evaluate --json`` prints, from the same decisions."""
        return rights.summary(self.rule, self.decisions)

    def figures(self, by_municipality: bool) -> dict[str, Any]:
        """Reach, cost and the breakdowns, as plain JSON-ready values."""
        result = {
            "name": self.name,
            "date": self.on.isoformat(),
            "reference_date": self.reference_date.isoformat(),
            "beneficiaries": self.beneficiaries.height,
            "households": self.reached["group"].n_unique(),
            "persons": self.reached.height,
            "cost": money(self.beneficiaries["amount"].sum()),
            "undetermined": self.summary()["undetermined"],
            "by_ground": _table(self.beneficiaries, "ground", [g.ground for g in self.rule.grounds]),
            "by_age_band": _ages(self.beneficiaries, self.reached),
            "by_household_type": _table(self.beneficiaries, "household_type", list(HOUSEHOLD_TYPES)),
        }
        if by_municipality:
            result["by_municipality"] = _municipalities(self.beneficiaries)
        return result


def decide(
    name: str, rule: rights.Rule, on: date, frames: Frames, catalogue: dict[str, rights.Rule]
) -> Outcome:
    """Evaluate ``rule`` on ``on`` over the shared frames and describe whom it reaches."""
    dates = reference_dates(rule, on)
    population = frames.population(dates)
    people = frames.people(dates, dates[-1])
    decisions = rights.evaluate_frames(
        rule, people.index, frames.periods_of(population), on=on, catalogue=catalogue
    )
    if frames.municipality is not None:
        living = population.filter(pl.col("municipality_nis") == frames.municipality).select("person_id")
        decisions = decisions.join(living, on="person_id", how="semi")
    granted = decisions.filter(pl.col("decision") == rights.GRANTED)
    beneficiaries = _beneficiaries(rule, granted, people)
    reached = _reached(rule, beneficiaries, people)
    return Outcome(name, rule, on, dates[-1], decisions, beneficiaries, reached, people)


def money(value: Any) -> str:
    """An amount as a decimal string with cents (JSON keeps it exact)."""
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


def _beneficiaries(rule: rights.Rule, granted: pl.DataFrame, people: People) -> pl.DataFrame:
    """One row per beneficiary: receiving person, group, ground, amount, and who the receiver is."""
    totals = [pl.col("ground").first(), pl.col("amount").sum()]
    if rule.beneficiary.entity == "household":
        per_beneficiary = granted.group_by("household_id").agg(
            pl.col("person_id").first().alias("receiver_id"), *totals
        )
        covers = pl.col("size")
    else:
        per_beneficiary = (
            granted.group_by("person_id").agg(*totals).with_columns(receiver_id=pl.col("person_id"))
        )
        covers = pl.lit(1, pl.UInt32)
    # every receiver is in the snapshot the decisions were taken on
    described = people.describe(people.rows_of(per_beneficiary["receiver_id"])).select(
        "group", "municipality_nis", "age_band", "household_type", "size"
    )
    joined = pl.concat([per_beneficiary, described], how="horizontal")
    return joined.with_columns(covers=covers.fill_null(1)).drop("size")


def _reached(rule: rights.Rule, beneficiaries: pl.DataFrame, people: People) -> pl.DataFrame:
    """Every person a beneficiary covers: the household's members, or the beneficiary alone."""
    if rule.beneficiary.entity == "household":
        return people.describe(people.members(beneficiaries["group"].to_numpy()))
    return people.describe(people.rows_of(beneficiaries["person_id"]))


def _table(beneficiaries: pl.DataFrame, column: str, order: list[str]) -> list[dict[str, Any]]:
    """Beneficiaries, persons reached and cost per value of ``column``, in ``order``."""
    grouped = beneficiaries.group_by(column).agg(
        beneficiaries=pl.len(), persons=pl.col("covers").sum(), cost=pl.col("amount").sum()
    )
    rows = {r[column]: r for r in grouped.to_dicts()}
    ordered = [v for v in order if v in rows] + sorted(v for v in rows if v not in order and v is not None)
    return [
        {
            column: value,
            "beneficiaries": rows[value]["beneficiaries"],
            "persons": rows[value]["persons"],
            "cost": money(rows[value]["cost"]),
        }
        for value in ordered
    ]


def _ages(beneficiaries: pl.DataFrame, reached: pl.DataFrame) -> list[dict[str, Any]]:
    persons = dict(reached.group_by("age_band").agg(pl.len()).iter_rows())
    costs = {
        r["age_band"]: r
        for r in beneficiaries.group_by("age_band").agg(n=pl.len(), cost=pl.col("amount").sum()).to_dicts()
    }
    rows = []
    for band in [label for label, _, _ in AGE_BANDS] + [UNKNOWN]:
        if band not in persons and band not in costs:
            continue
        found = costs.get(band, {"n": 0, "cost": 0})
        rows.append(
            {
                "age_band": band,
                "persons": persons.get(band, 0),
                "beneficiaries": found["n"],
                "cost": money(found["cost"]),
            }
        )
    return rows


def _municipalities(beneficiaries: pl.DataFrame) -> list[dict[str, Any]]:
    grouped = (
        beneficiaries.group_by("municipality_nis")
        .agg(beneficiaries=pl.len(), persons=pl.col("covers").sum(), cost=pl.col("amount").sum())
        .sort("municipality_nis", nulls_last=True)
    )
    return [
        {
            "nis": row["municipality_nis"],
            "name": _municipality_name(row["municipality_nis"]),
            "beneficiaries": row["beneficiaries"],
            "persons": row["persons"],
            "cost": money(row["cost"]),
        }
        for row in grouped.to_dicts()
    ]


def _municipality_name(nis: str | None) -> str:
    if nis is None:
        return "address unknown"
    try:
        return identity.municipality(nis).name
    except identity.UnknownMunicipality:
        return nis
