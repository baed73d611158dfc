"""Every line of a batch checked as the hub checks a single status consultation, for a whole chunk at once.

The order and the reasons are the exchange's: a malformed INSZ (``invalid_insz``); a person the register
does not know or the partner never integrated (``not_integrated``); integrations in no capacity the
deliberation requires (``capacity_not_covered``); none covering the date (``outside_integration_period``).
A line that passes gets the statuses the deliberation allows, as the single call's answer lists them.

What the lines are checked against is read once per run, as frames: the numbers of the persons the partner
integrated (any of their numbers, a replaced BIS number included, as the single call resolves them) with
what their integrations allow on the date, and the allowed statuses of those persons on that date. A chunk
is then a column validation and two joins.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Engine, false, literal_column, or_, select, true

from kruispunt import identity
from kruispunt.identity.tables import person_number
from kruispunt.network.deliberations import Deliberation
from kruispunt.network.reasons import Reason
from kruispunt.network.tables import integration
from kruispunt.statuses import status_period
from kruispunt.store import read_frame

NOT_INTEGRATED = "you have not integrated this person in the reference directory"
_HTTP_STATUS = {r.value: r.http_status for r in Reason}
FILTERED_UP_TO = 100_000


@dataclass(frozen=True)
class Reference:
    """What every chunk of a job is checked against, read once per run."""

    at: date
    deliberation: Deliberation
    files: pl.DataFrame  # insz -> person_id, has_fitting, capacity (covering ``at``; null when none does)
    answers: pl.DataFrame  # person_id -> statuses (JSON array)


def reference(
    engine: Engine, partner_id: int, found: Deliberation, at: date, lines: pl.DataFrame | None = None
) -> Reference:
    """Read what the job is checked against.

    With ``lines`` (line, input) of at most :data:`FILTERED_UP_TO` lines, only the persons behind their
    numbers are read (a small batch costs what it asks, whatever the register's size); otherwise the
    numbers, integrations and periods are read whole, three reads side by side, and joined in Polars:
    for a large batch that is faster than sending its numbers to the database.
    """
    if lines is not None and lines.height <= FILTERED_UP_TO:
        wanted = identity.parse_insz_column(lines["input"])["number"].drop_nulls().unique()
        numbers = _numbers(engine, wanted.to_list())
        persons = numbers["person_id"].unique().to_list()
    else:
        numbers, persons = None, None
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="batch-reference") as pool:
        integrations = pool.submit(_held, engine, partner_id, found, at, persons)
        everyone = pool.submit(_numbers, engine, None) if numbers is None else None
        periods = pool.submit(_periods, engine, found, at, persons)
        held = integrations.result()
        numbers = everyone.result() if everyone is not None else numbers
        assert numbers is not None
        files = numbers.join(held, on="person_id", how="inner")
        return Reference(at, found, files, _answers(periods.result(), held))


def _among(column: ColumnElement[Any], values: list[str] | list[int] | None) -> ColumnElement[bool]:
    """``column IN (...)`` with the values written inline: validated numbers and ids, nothing to inject."""
    if values is None:
        return true()
    if not values:
        return false()
    return column.in_([literal_column(_inline(v)) for v in values])


def _inline(value: str | int) -> str:
    """An SQL literal for a number or a string of digits; anything else is refused, not escaped."""
    if isinstance(value, int):
        return str(int(value))
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"not a string of digits: {value!r}")
    return f"'{value}'"


def _held(
    engine: Engine, partner_id: int, found: Deliberation, at: date, persons: list[int] | None
) -> pl.DataFrame:
    """Per person the partner integrated (of ``persons``, or all): whether any integration is in a
    required capacity, and the capacity of the first one (in the directory's order, as the single call
    takes it) in a required capacity covering ``at`` (null when none does)."""
    required = list(found.capacities)
    statement = select(
        integration.c.id,
        integration.c.person_id,
        integration.c.capacity,
        integration.c.valid_from,
        integration.c.valid_to,
    ).where(
        integration.c.partner_id == partner_id,
        _among(integration.c.person_id, persons),
    )
    schema = {
        "id": pl.Int64,
        "person_id": pl.Int64,
        "capacity": pl.Int64,
        "valid_from": pl.Date,
        "valid_to": pl.Date,
    }
    fitting = pl.col("capacity").is_in(required)
    covering = (
        fitting & (pl.col("valid_from") <= at) & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= at))
    )
    return (
        read_frame(engine, statement, bulk=persons is None)
        .cast(schema)  # type: ignore[arg-type]
        .sort("id")  # a group keeps its rows' order: first() is then the lowest id
        .group_by("person_id")
        .agg(
            fitting.any().alias("has_fitting"),
            pl.col("capacity").filter(covering).first().alias("capacity"),
        )
    )


def _numbers(engine: Engine, wanted: list[str] | None) -> pl.DataFrame:
    """The persons behind the ``wanted`` numbers (or every number): any number, a replaced one too, as the
    single call resolves them. ``wanted`` holds valid INSZ only (11 digits)."""
    statement = select(person_number.c.insz, person_number.c.person_id).where(
        _among(person_number.c.insz, wanted)
    )
    frame = read_frame(engine, statement, bulk=wanted is None)
    return frame.cast({"insz": pl.String, "person_id": pl.Int64})


def _periods(engine: Engine, found: Deliberation, at: date, persons: list[int] | None) -> pl.DataFrame:
    """The current status periods on ``at`` of the statuses the deliberation allows (of ``persons``)."""
    sp = status_period
    codes = sorted(found.fields)
    # The date's ISO text as a literal: compares as a date on both engines, whatever the read's driver.
    day: ColumnElement[Any] = literal_column(f"'{at.isoformat()}'")
    statement = select(sp.c.person_id, sp.c.status, sp.c.start_date, sp.c.end_date, sp.c.source).where(
        sp.c.superseded_at.is_(None),
        sp.c.start_date <= day,
        or_(sp.c.end_date.is_(None), sp.c.end_date >= day),
        or_(*[sp.c.status == code for code in codes]) if codes else false(),
        _among(sp.c.person_id, persons),
    )
    return read_frame(engine, statement).with_columns(pl.col("person_id").cast(pl.Int64))


def _answers(periods: pl.DataFrame, held: pl.DataFrame) -> pl.DataFrame:
    """Per person the partner may see on the date, the allowed statuses as the single call lists them."""
    seen = held.filter(pl.col("capacity").is_not_null()).select("person_id")
    return (
        periods.join(seen, on="person_id", how="semi")
        .sort("person_id", "start_date", "status", "source")
        .group_by("person_id", maintain_order=True)
        .agg(pl.struct("status", "start_date", "end_date", "source").struct.json_encode().alias("items"))
        .select(
            "person_id",
            pl.concat_str(pl.lit("["), pl.col("items").list.join(","), pl.lit("]")).alias("statuses"),
        )
    )


def check(lines: pl.DataFrame, ref: Reference) -> pl.DataFrame:
    """``lines`` (line, input) with insz, person_id, capacity, reason, message and statuses per line.

    ``person_id`` and ``capacity`` are set on answered lines only, as a single call records them.
    """
    parsed = identity.parse_insz_column(lines["input"]).select(
        pl.col("number").alias("insz"), pl.col("error").alias("parse_error")
    )
    frame = pl.concat([lines, parsed], how="horizontal").join(
        ref.files, on="insz", how="left", maintain_order="left"
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
    answered = pl.col("reason").is_null()
    return (
        frame.with_columns(reason.alias("reason"), message.alias("message"))
        .join(ref.answers, on="person_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(answered).then(pl.col("statuses").fill_null("[]")).alias("statuses"),
            pl.when(answered).then(pl.col("person_id")).alias("person_id"),
            pl.when(answered).then(pl.col("capacity")).alias("capacity"),
        )
    )


def http_status(reason: pl.Expr) -> pl.Expr:
    return pl.when(reason.is_null()).then(pl.lit(200)).otherwise(reason.replace_strict(_HTTP_STATUS))
