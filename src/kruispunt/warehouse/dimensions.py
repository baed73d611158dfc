"""What a person-quarter fact says, and the vocabulary of the warehouse's dimensions.

Status codes come from the GSS status catalogue; the socio-economic positions and their order from
``positions.yaml`` beside this module. Both are data: adding a status or a position is an edit there.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import polars as pl
import yaml

from kruispunt.warehouse.errors import WarehouseError

UNKNOWN = "unknown"
AGE_BAND5_EDGES = tuple(range(0, 90, 5))  # 0-4, 5-9, ..., 80-84, 85+
AGE_BAND_EDGES = (0, 15, 25, 35, 45, 55, 65, 75, 85)  # 0-14, 15-24, ..., 75-84, 85+
AGE_BROAD_EDGES = (0, 15, 65)  # 0-14, 15-64, 65+
HOUSEHOLD_TYPES = (
    "single",
    "couple_without_children",
    "couple_with_children",
    "single_parent",
    "other",
    UNKNOWN,
)


@dataclass(frozen=True)
class Position:
    code: str
    labels: dict[str, str]
    statuses: tuple[str, ...]
    age_from: int | None
    age_to: int | None

    @property
    def matches_by_age(self) -> bool:
        return self.age_from is not None or self.age_to is not None


@cache
def status_codes() -> tuple[str, ...]:
    """The GSS status codes, in catalogue order."""
    text = resources.files("kruispunt").joinpath("statuses", "catalogue.yaml").read_text("utf-8")
    return tuple(str(entry["code"]) for entry in yaml.safe_load(text)["statuses"])


def flag_column(status: str) -> str:
    """The boolean fact column saying a person holds ``status`` on the reference day."""
    return f"has_{status.lower()}"


@cache
def positions() -> tuple[Position, ...]:
    """The socio-economic positions in precedence order, validated against the status catalogue."""
    raw: dict[str, Any] = yaml.safe_load(
        resources.files("kruispunt.warehouse").joinpath("positions.yaml").read_text("utf-8")
    )
    known = set(status_codes())
    result = []
    for entry in raw["positions"]:
        unknown = set(entry.get("statuses", [])) - known
        if unknown:
            raise WarehouseError(
                f"positions.yaml, position {entry['code']}: unknown statuses {sorted(unknown)}"
            )
        age = entry.get("age") or [None, None]
        result.append(
            Position(entry["code"], dict(entry["labels"]), tuple(entry.get("statuses", [])), age[0], age[1])
        )
    if result[-1].statuses or result[-1].matches_by_age:
        raise WarehouseError("positions.yaml: the last position must match everyone left (no conditions)")
    return tuple(result)


def position_expr(age: pl.Expr) -> pl.Expr:
    """The first position (in precedence order) whose status or age condition holds."""
    chain: Any = None
    for position in positions()[:-1]:
        held = [pl.col(flag_column(s)) for s in position.statuses]
        if position.matches_by_age:
            low = age >= position.age_from if position.age_from is not None else pl.lit(True)
            high = age < position.age_to if position.age_to is not None else pl.lit(True)
            held.append((low & high).fill_null(False))
        condition = pl.any_horizontal(held)
        chain = pl.when(condition) if chain is None else chain.when(condition)
        chain = chain.then(pl.lit(position.code))
    result: pl.Expr = chain.otherwise(pl.lit(positions()[-1].code))
    return result


def _band_labels(edges: tuple[int, ...]) -> list[str]:
    labels = [f"{low}-{high - 1}" for low, high in itertools.pairwise(edges)]
    return [*labels, f"{edges[-1]}+"]


def band_expr(age: pl.Expr, edges: tuple[int, ...]) -> pl.Expr:
    """Age in whole years to the band label (``25-34``, ``85+``); unknown age gives ``unknown``."""
    labels = _band_labels(edges)
    chain: Any = pl.when(age.is_null()).then(pl.lit(UNKNOWN))
    for index, low in enumerate(edges[1:]):
        chain = chain.when(age < low).then(pl.lit(labels[index]))
    result: pl.Expr = chain.otherwise(pl.lit(labels[-1]))
    return result


def band_labels(edges: tuple[int, ...]) -> list[str]:
    return [*_band_labels(edges), UNKNOWN]


def household_type_expr() -> pl.Expr:
    """From the household's composition on the reference day (columns members, partners, children, others)."""
    return (
        pl.when(pl.col("members").is_null())
        .then(pl.lit(UNKNOWN))
        .when(pl.col("others") > 0)
        .then(pl.lit("other"))
        .when(pl.col("members") == 1)
        .then(pl.lit("single"))
        .when((pl.col("partners") > 0) & (pl.col("children") > 0))
        .then(pl.lit("couple_with_children"))
        .when(pl.col("partners") > 0)
        .then(pl.lit("couple_without_children"))
        .when(pl.col("children") > 0)
        .then(pl.lit("single_parent"))
        .otherwise(pl.lit("other"))
    )


# Dimensions a table may cross and a filter may name, with the fact column behind each.
GEOGRAPHY = ("municipality", "arrondissement", "province", "region")
BASE_DIMENSIONS = ("sex", "age_band", "age_band5", *GEOGRAPHY, "household_type", "position")


def dimensions() -> tuple[str, ...]:
    """Every dimension name: the base ones and one ``has_<status>`` flag per GSS status."""
    return (*BASE_DIMENSIONS, *(flag_column(s) for s in status_codes()))


def check_dimension(name: str, *, role: str) -> str:
    """``name`` if it is a dimension, else a WarehouseError listing the dimensions there are."""
    if name not in dimensions():
        raise WarehouseError(f"unknown {role} {name!r}; dimensions are: {', '.join(dimensions())}")
    return name
