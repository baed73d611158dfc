"""Every line of a batch checked as the hub checks a single status consultation, for a whole chunk at once.

The order and the reasons are the exchange's: a malformed INSZ (``invalid_insz``); a person the register
does not know or the partner never integrated (``not_integrated``); integrations in no capacity the
deliberation requires (``capacity_not_covered``); none covering the date (``outside_integration_period``).
A line that passes gets the statuses the deliberation allows, as the single call's answer lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine

from kruispunt import identity, statuses
from kruispunt.network.deliberations import Deliberation
from kruispunt.network.feeds import entitlement
from kruispunt.network.reasons import Reason

NOT_INTEGRATED = "you have not integrated this person in the reference directory"


@dataclass(frozen=True)
class Reference:
    """What every chunk of a job is checked against, read once per run."""

    at: date
    deliberation: Deliberation
    numbers: pl.DataFrame  # insz -> person_id
    files: pl.DataFrame  # person_id -> has_file, has_fitting, capacity (covering ``at``)
    answers: pl.DataFrame  # person_id -> statuses (JSON array)


def reference(engine: Engine, partner_id: int, found: Deliberation, at: date) -> Reference:
    numbers = identity.person_numbers(engine).select("insz", pl.col("person_id").cast(pl.Int64))
    required = list(found.capacities)
    files = (
        entitlement.integrations(engine, [partner_id])
        .with_columns(
            pl.col("capacity").is_in(required).alias("fitting"),
        )
        .with_columns(
            (
                pl.col("fitting")
                & (pl.col("valid_from") <= at)
                & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= at))
            ).alias("covering")
        )
        .group_by("person_id")
        .agg(
            pl.col("fitting").any().alias("has_fitting"),
            pl.col("capacity").filter(pl.col("covering")).min().alias("capacity"),
        )
    )
    periods = statuses.periods_frame(engine, statuses=list(found.fields)).filter(
        (pl.col("start_date") <= at) & (pl.col("end_date").is_null() | (pl.col("end_date") >= at))
    )
    answers = (
        periods.sort("person_id", "status", "start_date")
        .group_by("person_id", maintain_order=True)
        .agg(pl.struct("status", "start_date", "end_date", "source").struct.json_encode().alias("items"))
        .select(
            "person_id",
            pl.concat_str(pl.lit("["), pl.col("items").list.join(","), pl.lit("]")).alias("statuses"),
        )
    )
    return Reference(at, found, numbers, files, answers)


def check(lines: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """``lines`` (line, input) with insz, person_id, capacity, reason, message and statuses per line."""
    parsed = identity.parse_insz_column(lines["input"]).select(
        pl.col("number").alias("insz"), pl.col("error").alias("parse_error")
    )
    frame = (
        pl.concat([lines, parsed], how="horizontal")
        .join(ref.numbers, on="insz", how="left")
        .join(ref.files, on="person_id", how="left")
    )
    required = ", ".join(str(c) for c in ref.deliberation.capacities)
    reason = (
        pl.when(pl.col("insz").is_null())
        .then(pl.lit(Reason.INVALID_INSZ.value))
        .when(pl.col("has_fitting").is_null())
        .then(pl.lit(Reason.NOT_INTEGRATED.value))
        .when(~pl.col("has_fitting"))
        .then(pl.lit(Reason.CAPACITY_NOT_COVERED.value))
        .when(pl.col("capacity").is_null())
        .then(pl.lit(Reason.OUTSIDE_INTEGRATION_PERIOD.value))
    )
    message = (
        pl.when(pl.col("insz").is_null())
        .then(
            pl.format(
                "'{}' is not a valid INSZ: {}",
                pl.col("input").fill_null("").str.slice(0, 40),
                pl.col("parse_error").fill_null("malformed"),
            )
        )
        .when(pl.col("has_fitting").is_null())
        .then(pl.lit(NOT_INTEGRATED))
        .when(~pl.col("has_fitting"))
        .then(
            pl.lit(
                "your integration(s) of this person are not in a capacity the deliberation requires "
                f"({required})"
            )
        )
        .when(pl.col("capacity").is_null())
        .then(pl.lit(f"your integration of this person does not cover {ref.at}"))
    )
    checked = frame.with_columns(reason.alias("reason"), message.alias("message"))
    return checked.join(ref.answers, on="person_id", how="left").with_columns(
        pl.when(pl.col("reason").is_null()).then(pl.col("statuses").fill_null("[]")).alias("statuses")
    )


def http_status(reason: pl.Expr) -> pl.Expr:
    codes = {r.value: r.http_status for r in Reason}
    return (
        pl.when(reason.is_null())
        .then(pl.lit(200))
        .otherwise(reason.replace_strict(codes, return_dtype=pl.Int64))
    )
