"""Take-up today against entitlement, and the staff time that automatic granting saves.

A beneficiary of the rule (a household, or a person) *receives* the right today when the ``--current`` file
names one of its members. Non-take-up is the entitled who receive nothing; the file may also name people the
data say are not entitled (they applied with a certificate the buffer does not confirm, moved away, or the
status ended). Amounts come from the file when it is an accounting file, otherwise each receiver is counted at
the amount automatic granting would give them (or the average of those amounts when they are not entitled).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from kruispunt.impact.current import CurrentFile
from kruispunt.impact.outcome import Outcome, money

DEFAULT_MINUTES_PER_FILE = 30.0
DEFAULT_HOURS_PER_FTE = 1_748.0


@dataclass(frozen=True)
class StaffTime:
    """What a manual file costs: minutes of handling each, and the working hours of one full-time post."""

    minutes_per_file: float = DEFAULT_MINUTES_PER_FILE
    hours_per_fte: float = DEFAULT_HOURS_PER_FTE

    def __post_init__(self) -> None:
        if self.minutes_per_file < 0 or self.hours_per_fte <= 0:
            raise ValueError("minutes per file must be 0 or more and hours per FTE more than 0")

    def saved(self, files: int) -> dict[str, Any]:
        hours = files * self.minutes_per_file / 60
        return {
            "manual_files": files,
            "minutes_per_file": self.minutes_per_file,
            "hours_per_fte": self.hours_per_fte,
            "hours": round(hours, 1),
            "fte": round(hours / self.hours_per_fte, 2),
        }


def take_up(baseline: Outcome, current: CurrentFile, numbers: pl.DataFrame) -> dict[str, Any]:
    """Who receives today versus who is entitled, and what automatic granting changes in cost.

    ``numbers``: every INSZ ever assigned with its person_id (``identity.person_numbers``), so an old BIS
    number in the file still finds its person.
    """
    records = _in_period(baseline, current)
    resolved = records.join(numbers.select("insz", "person_id"), on="insz", how="left")
    unknown = resolved.filter(pl.col("person_id").is_null())
    people = baseline.population_groups()
    key = "group" if baseline.rule.beneficiary.entity == "household" else "person_id"
    located = resolved.drop_nulls("person_id").join(people, on="person_id", how="left")
    receiving = located.with_columns(
        pl.coalesce(pl.col(key).cast(pl.String), pl.col("person_id").cast(pl.String)).alias("entity")
    )
    entitled = baseline.beneficiaries.select(pl.col(key).cast(pl.String).alias("entity"), "amount")
    received = receiving.group_by("entity").agg(pl.col("amount").sum().alias("received"))
    both = entitled.join(received, on="entity", how="inner")
    missed = entitled.join(received, on="entity", how="anti")
    undue = received.join(entitled, on="entity", how="anti")
    today = _cost_today(current, both, undue, entitled)
    automatic = Decimal(money(entitled["amount"].sum()))
    return {
        "file": str(current.path),
        "kind": current.kind,
        "records": current.records.height,
        "records_in_period": records.height,
        "unknown_numbers": unknown.height,
        "receiving": received.height,
        "entitled": entitled.height,
        "entitled_receiving": both.height,
        "non_take_up": missed.height,
        "non_take_up_rate": round(missed.height / entitled.height, 4) if entitled.height else None,
        "non_take_up_cost": money(missed["amount"].sum()),
        "received_without_entitlement": undue.height,
        "cost_today": money(today),
        "cost_today_estimated": not current.has_amounts,
        "cost_automatic": money(automatic),
        "cost_change": money(automatic - today),
    }


def _in_period(baseline: Outcome, current: CurrentFile) -> pl.DataFrame:
    """The file's records for the period simulated (an accounting file may cover several years)."""
    records = current.records
    if not current.has_amounts:
        return records
    day = baseline.reference_date
    return records.filter((pl.col("period_start") <= day) & (pl.col("period_end") >= day))


def _cost_today(
    current: CurrentFile, both: pl.DataFrame, undue: pl.DataFrame, entitled: pl.DataFrame
) -> Decimal:
    if current.has_amounts:
        return Decimal(money(both["received"].sum())) + Decimal(money(undue["received"].sum()))
    average = Decimal(money(entitled["amount"].mean())) if entitled.height else Decimal("0")
    return Decimal(money(both["amount"].sum())) + average * undue.height
