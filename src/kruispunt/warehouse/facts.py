"""Person-quarter facts: everyone alive on a quarter's reference day, as the warehouse describes them.

Pure functions over frames (no database, no files), so the same code serves the build from the register
and the national-scale benchmark on synthetic frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import polars as pl

from kruispunt import identity
from kruispunt.warehouse.dimensions import (
    AGE_BAND5_EDGES,
    AGE_BAND_EDGES,
    UNKNOWN,
    band_expr,
    flag_column,
    household_type_expr,
    position_expr,
    status_codes,
)


@dataclass(frozen=True)
class Sources:
    """What the build reads, as frames.

    - persons: person_id, birth_date, sex, death_date
    - addresses: person_id, municipality_nis, valid_from, valid_to (inclusive; null = open)
    - memberships: person_id, household_id, role, valid_from, valid_to
    - statuses: person_id, status, start_date, end_date (inclusive; null = open)
    """

    persons: pl.DataFrame
    addresses: pl.DataFrame
    memberships: pl.DataFrame
    statuses: pl.DataFrame


def fact_schema() -> dict[str, pl.DataType]:
    """Columns of a fact partition, in order (the quarter is the partition key, not a column)."""
    schema: dict[str, pl.DataType] = {
        "pid": pl.Int64(),
        "sex": pl.String(),
        "age": pl.Int16(),
        "age_band5": pl.String(),
        "age_band": pl.String(),
        "municipality": pl.String(),
        "arrondissement": pl.String(),
        "province": pl.String(),
        "region": pl.String(),
        "household_type": pl.String(),
        "position": pl.String(),
    }
    schema.update({flag_column(s): pl.Boolean() for s in status_codes()})
    return schema


@cache
def geography() -> pl.DataFrame:
    """municipality -> arrondissement, province, region; Brussels' province is its region (Statbel usage)."""
    frame = identity.municipalities_frame()
    return frame.select(
        pl.col("municipality_nis"),
        pl.col("arrondissement_nis").alias("arrondissement"),
        pl.coalesce("province_nis", "region_nis").alias("province"),
        pl.col("region_nis").alias("region"),
    )


def _valid_at(day: date, start: str = "valid_from", end: str = "valid_to") -> pl.Expr:
    return (pl.col(start) <= day) & (pl.col(end).is_null() | (pl.col(end) >= day))


def _age(day: date) -> pl.Expr:
    birth = pl.col("birth_date")
    before_birthday = (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32)) > (
        day.month * 100 + day.day
    )
    return (pl.lit(day.year) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)).cast(pl.Int16)


def _households(memberships: pl.DataFrame, day: date) -> pl.LazyFrame:
    current = (
        memberships.lazy()
        .filter(_valid_at(day))
        .unique(subset="person_id", keep="first", maintain_order=True)
        .select("person_id", "household_id", "role")
    )
    composition = current.group_by("household_id").agg(
        pl.len().alias("members"),
        (pl.col("role") == "partner").sum().alias("partners"),
        (pl.col("role") == "child").sum().alias("children"),
        (pl.col("role") == "other").sum().alias("others"),
    )
    return current.join(composition, on="household_id").select(
        "person_id", household_type_expr().alias("household_type")
    )


def _status_flags(statuses: pl.DataFrame, day: date) -> pl.LazyFrame:
    """One row per person holding any status on ``day``: a bit per catalogue status, then a flag column."""
    codes = status_codes()
    bits = pl.DataFrame({"status": list(codes), "bit": [1 << i for i in range(len(codes))]})
    held = (
        statuses.lazy()
        .filter(_valid_at(day, "start_date", "end_date"))
        .select("person_id", "status")
        .unique()
        .join(bits.lazy(), on="status")
        .group_by("person_id")
        .agg(pl.col("bit").sum().alias("bits"))
    )
    return held.with_columns(
        ((pl.col("bits") & (1 << i)) != 0).alias(flag_column(code)) for i, code in enumerate(codes)
    ).drop("bits")


def quarter_facts(sources: Sources, pseudonyms: pl.DataFrame, day: date) -> pl.DataFrame:
    """Everyone alive on ``day`` (the quarter's last day), one row each, columns as :func:`fact_schema`.

    ``pseudonyms`` maps person_id to pid; the result holds the pid only, never the person_id.
    """
    persons = sources.persons.lazy().filter(
        (pl.col("birth_date").is_null() | (pl.col("birth_date") <= day))
        & (pl.col("death_date").is_null() | (pl.col("death_date") >= day))
    )
    addresses = (
        sources.addresses.lazy()
        .filter(_valid_at(day))
        .unique(subset="person_id", keep="first", maintain_order=True)
        .select("person_id", "municipality_nis")
        .join(geography().lazy(), on="municipality_nis", how="left")
    )
    flags = [flag_column(s) for s in status_codes()]
    frame = (
        persons.join(pseudonyms.lazy(), on="person_id")
        .join(addresses, on="person_id", how="left")
        .join(_households(sources.memberships, day), on="person_id", how="left")
        .join(_status_flags(sources.statuses, day), on="person_id", how="left")
        .with_columns(_age(day).alias("age"), *(pl.col(f).fill_null(False) for f in flags))
        .with_columns(
            pl.col("sex").fill_null(UNKNOWN),
            band_expr(pl.col("age"), AGE_BAND5_EDGES).alias("age_band5"),
            band_expr(pl.col("age"), AGE_BAND_EDGES).alias("age_band"),
            pl.col("municipality_nis").fill_null(UNKNOWN).alias("municipality"),
            *(pl.col(c).fill_null(UNKNOWN) for c in ("arrondissement", "province", "region")),
            pl.col("household_type").fill_null(UNKNOWN),
            position_expr(pl.col("age")).alias("position"),
        )
    )
    schema = fact_schema()
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()]).collect()
