"""The population of one snapshot described for the breakdowns: households, their type, age bands.

Built once per snapshot and shared by the baseline and every variant. Everything is indexed by row over the
rights room's :class:`~kruispunt.rights.PopulationIndex` (households as dense integer groups): the household
composition is a few counts over eleven million persons, and a person is described (age band, household type)
only when a beneficiary or a person reached needs it, never the whole country.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl

from kruispunt import rights

AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-24", 18, 24),
    ("25-44", 25, 44),
    ("45-64", 45, 64),
    ("65-79", 65, 79),
    ("80+", 80, None),
)
UNKNOWN = "unknown"
HOUSEHOLD_TYPES = (
    "single person",
    "couple without children",
    "couple with children",
    "single parent",
    "other household",
    UNKNOWN,
)
_TYPE = {name: code for code, name in enumerate(HOUSEHOLD_TYPES)}


class People:
    """A population snapshot (as ``identity.population`` gives it) on the date ages are counted."""

    def __init__(self, population: pl.DataFrame, on: date) -> None:
        self.population = population
        self.on = on
        self.index = rights.PopulationIndex(population)

    @cached_property
    def _households(self) -> tuple[Any, Any]:
        """Per group: its size and its type (a code into :data:`HOUSEHOLD_TYPES`)."""
        group, groups = self.index.group, self.index.groups
        role = self.population["household_role"]
        size = np.bincount(group, minlength=groups)
        partner, child, unknown = (np.zeros(groups, np.bool_) for _ in range(3))
        partner[group[(role == "partner").fill_null(False).to_numpy()]] = True
        child[group[(role == "child").fill_null(False).to_numpy()]] = True
        unknown[group[self.population["household_id"].is_null().to_numpy()]] = True
        tests = {
            UNKNOWN: unknown,
            "single person": size == 1,
            "couple with children": partner & child,
            "couple without children": partner,
            "single parent": child,
        }
        kind = np.select(list(tests.values()), [_TYPE[name] for name in tests], _TYPE["other household"])
        return size, kind

    def groups(self) -> pl.DataFrame:
        """person_id and group (household, or the person alone) of everyone in the snapshot."""
        return pl.DataFrame({"person_id": self.population["person_id"], "group": self.index.group})

    def rows_of(self, person_ids: pl.Series) -> Any:
        return self.index.rows_of(person_ids.cast(pl.Int64).to_numpy())

    def members(self, groups: Any) -> Any:
        return self.index.members(groups)

    def describe(self, rows: Any) -> pl.DataFrame:
        """Who these rows are: person_id, household_id, municipality_nis, group, age_band, size,
        household_type."""
        size, kind = self._households
        group = self.index.group[rows]
        picked = pl.Series(rows)
        described = self.population.select(
            pl.col("person_id", "household_id", "municipality_nis", "birth_date").gather(picked)
        )
        return described.select(
            "person_id",
            "household_id",
            "municipality_nis",
            group=pl.Series(group, dtype=pl.Int64),
            age_band=_age_band(_age(self.on)),
            size=pl.Series(size[group], dtype=pl.UInt32),
            household_type=pl.Series(HOUSEHOLD_TYPES).gather(pl.Series(kind[group])),
        )


def _age_band(age: pl.Expr) -> pl.Expr:
    expression: Any = pl.when(age.is_null()).then(pl.lit(UNKNOWN))
    for label, low, high in AGE_BANDS:
        test = age >= low if high is None else age.is_between(low, high)
        expression = expression.when(test).then(pl.lit(label))
    result: pl.Expr = expression.otherwise(pl.lit(UNKNOWN))
    return result


def _age(on: date) -> pl.Expr:
    birth = pl.col("birth_date")
    before_birthday = (birth.dt.month() * 100 + birth.dt.day()) > (on.month * 100 + on.day)
    return pl.lit(on.year) - birth.dt.year() - before_birthday.cast(pl.Int32)
