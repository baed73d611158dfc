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
    HOUSEHOLD_TYPES,
    UNKNOWN,
    band_expr,
    band_labels,
    flag_column,
    household_type_expr,
    position_expr,
    positions,
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


def _codes(column: str) -> list[str]:
    values = geography().get_column("municipality_nis" if column == "municipality" else column)
    return [*sorted(set(values.to_list())), UNKNOWN]


@cache
def fact_schema() -> dict[str, pl.DataType]:
    """Columns of a fact partition, in order (the quarter is the partition key, not a column).

    Categorical columns are Polars enums: stored as small integers while building, and as
    dictionary-encoded strings in Parquet, so DuckDB and other readers see plain text.
    """
    schema: dict[str, pl.DataType] = {
        "pid": pl.Int64(),
        "sex": pl.Enum(["M", "F", UNKNOWN]),
        "age": pl.Int16(),
        "age_band5": pl.Enum(band_labels(AGE_BAND5_EDGES)),
        "age_band": pl.Enum(band_labels(AGE_BAND_EDGES)),
        **{name: pl.Enum(_codes(name)) for name in ("municipality", "arrondissement", "province", "region")},
        "household_type": pl.Enum(list(HOUSEHOLD_TYPES)),
        "position": pl.Enum([p.code for p in positions()]),
    }
    schema.update({flag_column(s): pl.Boolean() for s in status_codes()})
    return schema


def _valid_at(day: date, start: str = "valid_from", end: str = "valid_to") -> pl.Expr:
    return (pl.col(start) <= day) & (pl.col(end).is_null() | (pl.col(end) >= day))


def _age(day: date) -> pl.Expr:
    birth = pl.col("birth_date")
    before_birthday = (birth.dt.month().cast(pl.Int32) * 100 + birth.dt.day().cast(pl.Int32)) > (
        day.month * 100 + day.day
    )
    return (pl.lit(day.year) - birth.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)).cast(pl.Int16)


def without_overlaps(periods: pl.DataFrame) -> pl.DataFrame:
    """At most one period per person and day: where two overlap, the later start wins.

    The register never keeps two open addresses or households for one person; this makes sure of it once
    per build (deterministically), so each quarter needs a filter instead of a de-duplication.
    """
    ordered = periods.sort("person_id", "valid_from", maintain_order=True)
    next_from = pl.col("valid_from").shift(-1)
    same_person = pl.col("person_id").shift(-1) == pl.col("person_id")
    cut = same_person & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= next_from))
    return ordered.with_columns(
        pl.when(cut).then(next_from - pl.duration(days=1)).otherwise(pl.col("valid_to")).alias("valid_to")
    ).filter(pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("valid_from")))


@dataclass(frozen=True)
class Prepared:
    """The sources made ready once per build: pseudonyms joined, geography resolved, codes as integers."""

    persons: pl.DataFrame  # person_id, pid, birth_date, sex, death_date
    addresses: pl.DataFrame  # person_id, municipality, arrondissement, province, region, valid_from, valid_to
    memberships: pl.DataFrame  # person_id, household (UInt32), role, valid_from, valid_to
    statuses: pl.DataFrame  # person_id, bit, start_date, end_date


def prepare(sources: Sources, pseudonyms: pl.DataFrame) -> Prepared:
    """Do once what every quarter would otherwise repeat."""
    codes = status_codes()
    bits = pl.DataFrame({"status": list(codes), "bit": [1 << i for i in range(len(codes))]})
    addresses = without_overlaps(
        sources.addresses.select("person_id", "municipality_nis", "valid_from", "valid_to")
    )
    memberships = without_overlaps(
        sources.memberships.select("person_id", "household_id", "role", "valid_from", "valid_to")
    )
    return Prepared(
        persons=sources.persons.select("person_id", "birth_date", "sex", "death_date").join(
            pseudonyms, on="person_id"
        ),
        addresses=addresses.join(geography(), on="municipality_nis", how="left")
        .rename({"municipality_nis": "municipality"})
        .select(
            "person_id", "municipality", "arrondissement", "province", "region", "valid_from", "valid_to"
        ),
        memberships=memberships.with_columns(
            pl.col("household_id").rank("dense").cast(pl.UInt32).alias("household")
        ).drop("household_id"),
        statuses=sources.statuses.join(bits, on="status").select(
            "person_id", "bit", "start_date", "end_date"
        ),
    )


def _with_geography(addresses: pl.DataFrame) -> pl.DataFrame:
    """Address periods with the four geographic levels as enums.

    A code that names no current municipality (none should: the register checks them) counts as unknown.
    """
    schema = fact_schema()
    levels = ("municipality", "arrondissement", "province", "region")
    known = pl.col("region").is_not_null()
    return (
        addresses.join(geography(), on="municipality_nis", how="left")
        .with_columns(
            pl.when(known).then(pl.col("municipality_nis")).otherwise(pl.lit(UNKNOWN)).alias("municipality")
        )
        .select(
            "person_id",
            *(pl.col(level).fill_null(UNKNOWN).cast(schema[level]) for level in levels),
            "valid_from",
            "valid_to",
        )
    )


def _households(memberships: pl.DataFrame, day: date) -> pl.LazyFrame:
    current = memberships.lazy().filter(_valid_at(day)).select("person_id", "household", "role")
    composition = current.group_by("household").agg(
        pl.len().alias("members"),
        (pl.col("role") == "partner").sum().alias("partners"),
        (pl.col("role") == "child").sum().alias("children"),
        (pl.col("role") == "other").sum().alias("others"),
    )
    return current.join(composition, on="household").select(
        "person_id", household_type_expr().alias("household_type")
    )


def _status_flags(statuses: pl.DataFrame, day: date) -> pl.LazyFrame:
    """One row per person holding any status on ``day``: a bit per catalogue status, then a flag column."""
    held = (
        statuses.lazy()
        .filter(_valid_at(day, "start_date", "end_date"))
        .select("person_id", "bit")
        .unique()
        .group_by("person_id")
        .agg(pl.col("bit").sum().alias("bits"))
    )
    return held.with_columns(
        ((pl.col("bits") & (1 << i)) != 0).alias(flag_column(code)) for i, code in enumerate(status_codes())
    ).drop("bits")


def quarter_facts(prepared: Prepared, day: date) -> pl.DataFrame:
    """Everyone alive on ``day`` (the quarter's last day), one row each, columns as :func:`fact_schema`.

    The result holds the pseudonym (pid) only, never the person_id.
    """
    persons = prepared.persons.lazy().filter(
        (pl.col("birth_date").is_null() | (pl.col("birth_date") <= day))
        & (pl.col("death_date").is_null() | (pl.col("death_date") >= day))
    )
    addresses = prepared.addresses.lazy().filter(_valid_at(day)).drop("valid_from", "valid_to")
    flags = [flag_column(s) for s in status_codes()]
    frame = (
        persons.join(addresses, on="person_id", how="left")
        .join(_households(prepared.memberships, day), on="person_id", how="left")
        .join(_status_flags(prepared.statuses, day), on="person_id", how="left")
        .with_columns(_age(day).alias("age"), *(pl.col(f).fill_null(False) for f in flags))
        .with_columns(
            pl.col("sex").fill_null(UNKNOWN),
            band_expr(pl.col("age"), AGE_BAND5_EDGES).alias("age_band5"),
            band_expr(pl.col("age"), AGE_BAND_EDGES).alias("age_band"),
            *(pl.col(c).fill_null(UNKNOWN) for c in ("municipality", "arrondissement", "province", "region")),
            pl.col("household_type").fill_null(UNKNOWN),
            position_expr(pl.col("age")).alias("position"),
        )
    )
    schema = fact_schema()
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()]).collect()
