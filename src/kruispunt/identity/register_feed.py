"""The register feed contract and its validation.

One row a person's current situation, header names exactly :data:`REGISTER_COLUMNS`; dates
``YYYY-MM-DD``; an empty value means unknown. Validation is complete before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from kruispunt.feeds import LINE, FeedError, FeedRejected, errors_from, read_feed
from kruispunt.identity.bulk_numbers import parse_insz_column
from kruispunt.identity.municipalities import all_municipalities, postal_pairs_frame

REGISTER_COLUMNS = (
    "insz",
    "last_name",
    "first_name",
    "birth_date",
    "sex",
    "death_date",
    "household_id",
    "household_role",
    "municipality_nis",
    "postal_code",
    "street",
    "house_number",
    "address_from",
)
HOUSEHOLD_ROLES = ("head", "partner", "child", "other")
_REQUIRED = ("insz", "last_name", "first_name", "household_id", "household_role", "municipality_nis")
_DATES = ("birth_date", "death_date", "address_from")


def read_register_feed(path: Path) -> pl.DataFrame:
    """Validate a register file and return it typed, with ``kind`` added; raise FeedRejected."""
    frame = read_feed(path, REGISTER_COLUMNS)
    name = str(path)
    errors: list[FeedError] = []
    for column in _REQUIRED:
        errors += errors_from(frame.filter(pl.col(column).is_null()), name, column, "a value is required")

    facts = parse_insz_column(frame["insz"].drop_nulls().unique()).select(
        pl.col("input").alias("insz"),
        "number",
        pl.coalesce("kind", "error").alias("kind"),
        pl.col("birth_date").dt.strftime("%Y-%m-%d").alias("insz_birth"),
        pl.col("sex").alias("insz_sex"),
    )
    frame = frame.join(facts, on="insz", how="left")
    bad = frame.filter(pl.col("insz").is_not_null() & pl.col("number").is_null())
    errors += [
        FeedError(name, int(r[LINE]), "insz", f"{r['insz']!r}: {r['kind']}")
        for r in bad.head(1000).iter_rows(named=True)
    ]
    frame = frame.with_columns(
        pl.when(pl.col("number").is_null()).then(None).otherwise(pl.col("kind")).alias("kind")
    )

    for column in _DATES:
        parsed = pl.col(column).str.to_date("%Y-%m-%d", strict=False)
        wrong = frame.filter(pl.col(column).is_not_null() & parsed.is_null())
        errors += [
            FeedError(name, int(r[LINE]), column, f"{r[column]!r} is not a date YYYY-MM-DD")
            for r in wrong.head(1000).iter_rows(named=True)
        ]
        frame = frame.with_columns(parsed.alias(column))

    errors += _consistency_errors(frame, name)
    if errors:
        raise FeedRejected(sorted(errors, key=lambda e: (e.line or 0, e.field or "")))
    return frame.with_columns(pl.col("number").alias("insz")).drop("number", "insz_birth", "insz_sex")


def _consistency_errors(frame: pl.DataFrame, name: str) -> list[FeedError]:
    errors: list[FeedError] = []
    errors += errors_from(
        frame.filter(pl.col("sex").is_not_null() & ~pl.col("sex").is_in(["M", "F"])),
        name,
        "sex",
        "must be M, F or empty",
    )
    errors += errors_from(
        frame.filter(
            pl.col("sex").is_not_null()
            & pl.col("insz_sex").is_not_null()
            & (pl.col("sex") != pl.col("insz_sex"))
        ),
        name,
        "sex",
        "contradicts the sex encoded in the INSZ",
    )
    errors += errors_from(
        frame.filter(
            pl.col("birth_date").is_not_null()
            & pl.col("insz_birth").is_not_null()
            & (pl.col("birth_date").dt.strftime("%Y-%m-%d") != pl.col("insz_birth"))
        ),
        name,
        "birth_date",
        "contradicts the birth date encoded in the INSZ",
    )
    errors += errors_from(
        frame.filter(pl.col("death_date") < pl.col("birth_date")),
        name,
        "death_date",
        "is before the birth date",
    )
    errors += errors_from(
        frame.filter(
            pl.col("household_role").is_not_null() & ~pl.col("household_role").is_in(HOUSEHOLD_ROLES)
        ),
        name,
        "household_role",
        "must be one of head, partner, child, other",
    )
    known = [m.nis for m in all_municipalities()]
    errors += errors_from(
        frame.filter(pl.col("municipality_nis").is_not_null() & ~pl.col("municipality_nis").is_in(known)),
        name,
        "municipality_nis",
        "is not the NIS code of a Belgian municipality",
    )
    with_postal = frame.filter(pl.col("postal_code").is_not_null() & pl.col("municipality_nis").is_in(known))
    wrong_postal = with_postal.join(postal_pairs_frame(), on=["municipality_nis", "postal_code"], how="anti")
    errors += errors_from(wrong_postal, name, "postal_code", "is not a postal code of that municipality")
    duplicates = frame.filter(pl.col("number").is_not_null() & pl.col("number").is_duplicated())
    first_line = duplicates.group_by("number").agg(pl.col(LINE).min().alias("first"))
    repeated = duplicates.join(first_line, on="number").filter(pl.col(LINE) != pl.col("first"))
    errors += [
        FeedError(name, int(r[LINE]), "insz", f"duplicate INSZ, already on line {r['first']}")
        for r in repeated.head(1000).iter_rows(named=True)
    ]
    heads = frame.filter(pl.col("household_role") == "head").group_by("household_id").agg(pl.col(LINE).sort())
    for household_id, lines in heads.filter(pl.col(LINE).list.len() > 1).head(1000).iter_rows():
        errors.append(
            FeedError(
                name,
                int(lines[1]),
                "household_role",
                f"household {household_id} already has a head on line {lines[0]}",
            )
        )
    return errors
