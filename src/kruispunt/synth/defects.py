"""Deliberately imperfect records (``--defects RATE``), to exercise the loaders' error paths.

Never added by default. With a rate, each register row and each status row is damaged with that probability,
in one of the ways real deliveries go wrong: a mistyped check digit, an unknown status code, or a period
delivered twice so that it overlaps itself. The manifest counts each kind.
"""

from __future__ import annotations

import numpy as np
import polars as pl

BAD_CHECK_DIGITS = "bad_check_digits"
UNKNOWN_STATUS = "unknown_status_code"
OVERLAPPING_PERIOD = "overlapping_period"
DEFECT_KINDS = (BAD_CHECK_DIGITS, UNKNOWN_STATUS, OVERLAPPING_PERIOD)
UNKNOWN_CODE = "GSS_UNKNOWN"


def _mistyped(insz: pl.Expr) -> pl.Expr:
    """The last digit raised by one (9 becomes 0): the check no longer holds for either century."""
    last = insz.str.slice(10, 1).cast(pl.Int32)
    return insz.str.slice(0, 10) + ((last + 1) % 10).cast(pl.String)


def damage_register(
    rng: np.random.Generator, frame: pl.DataFrame, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Register rows with mistyped check digits."""
    hit = pl.Series(rng.random(frame.height) < rate)
    damaged = frame.with_columns(
        pl.when(hit).then(_mistyped(pl.col("insz"))).otherwise(pl.col("insz")).alias("insz")
    )
    return damaged, {BAD_CHECK_DIGITS: int(hit.sum())}


def damage_statuses(
    rng: np.random.Generator, frame: pl.DataFrame, rate: float
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Status rows with a mistyped number, an unknown code, or repeated one day later (an overlap)."""
    n = frame.height
    kind = np.where(rng.random(n) < rate, rng.integers(0, 3, n), -1)
    damaged = frame.with_columns(
        pl.when(pl.Series(kind == 0)).then(_mistyped(pl.col("insz"))).otherwise(pl.col("insz")).alias("insz"),
        pl.when(pl.Series(kind == 1)).then(pl.lit(UNKNOWN_CODE)).otherwise(pl.col("status")).alias("status"),
        (pl.int_range(pl.len(), dtype=pl.Int64) * 2).alias("__order"),
    )
    later = (pl.col("start_date").str.to_date() + pl.duration(days=1)).dt.strftime("%Y-%m-%d")
    repeated = (
        damaged.filter(pl.Series(kind == 2))
        .with_columns(later.alias("start_date"), pl.col("__order") + 1)
        .filter(pl.col("end_date").is_null() | (pl.col("start_date") <= pl.col("end_date")))
    )
    combined = pl.concat([damaged, repeated]).sort("__order").drop("__order")
    counts = {
        BAD_CHECK_DIGITS: int((kind == 0).sum()),
        UNKNOWN_STATUS: int((kind == 1).sum()),
        OVERLAPPING_PERIOD: repeated.height,
    }
    return combined, counts
