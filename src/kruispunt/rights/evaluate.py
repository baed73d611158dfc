"""The evaluation engine: a rule over frames of persons and status periods, whole columns at a time.

Pure: no database, no files. The service layer reads the frames; the impact room calls this with variant
rules. Decisions are three-valued (granted / not_granted / undetermined) with reason codes, combined with
Kleene logic: one definite "no" wins over missing data, missing data wins over "yes". Persons holding no
ground at all are not in the result (they are not granted, reason ``NO_GROUND``), so a national run does
not carry eleven million rows of "no"; :func:`kruispunt.rights.explain` answers for any single person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from kruispunt.rights.codes import StatusCodes, status_codes
from kruispunt.rights.model import Bounds, Exclusion, Ground, HeldBy, HeldWhen, Rule

GRANTED, NOT_GRANTED, UNDETERMINED = "granted", "not_granted", "undetermined"
DECISION_COLUMNS = (
    "rule",
    "person_id",
    "insz",
    "household_id",
    "period_start",
    "period_end",
    "reference_date",
    "decision",
    "ground",
    "amount",
    "reasons",
)
AMOUNT_TYPE = pl.Decimal(18, 2)
_OPEN_END = date(9999, 12, 31)


class EvaluationError(ValueError):
    """The evaluation was asked something impossible (no dates, dates outside the rule, bad frames)."""


@dataclass(frozen=True)
class Window:
    """The dates asked: one reference date (``on``) or a range (``start`` to ``end``, inclusive)."""

    start: date
    end: date

    @classmethod
    def of(cls, on: date | None, start: date | None, end: date | None) -> Window:
        if on is not None and (start is not None or end is not None):
            raise EvaluationError("give either a date or a range, not both")
        if on is not None:
            return cls(on, on)
        if start is None or end is None:
            raise EvaluationError("give a date, or both ends of a range")
        if end < start:
            raise EvaluationError(f"impossible range: {end} is before {start}")
        return cls(start, end)


def _unit_bounds(unit: str, day: date) -> tuple[date, date]:
    """The calendar month, quarter or year containing ``day``."""
    if unit == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    months = 3 if unit == "quarter" else 1
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    following = date(day.year + (first_month + months > 12), (first_month + months - 1) % 12 + 1, 1)
    return start, following - timedelta(days=1)


def units(rule: Rule, window: Window) -> pl.DataFrame:
    """The periods a rule decides within ``window`` and its validity: index, start, end, reference date.

    Periods are calendar units clipped to the rule's validity; a few rows, never one per person.
    """
    last = min(window.end, rule.validity.end or _OPEN_END)
    day = max(window.start, rule.validity.start)
    rows: list[tuple[int, date, date, date]] = []
    while day <= last:
        start, end = _unit_bounds(rule.period.unit, day)
        clipped = (max(start, rule.validity.start), min(end, rule.validity.end or _OPEN_END))
        rows.append((len(rows), *clipped, _reference(rule.period.reference, start, end)))
        day = end + timedelta(days=1)
    return pl.DataFrame(
        rows,
        schema={"unit": pl.Int32, "period_start": pl.Date, "period_end": pl.Date, "reference_date": pl.Date},
        orient="row",
    )


def _reference(reference: str, start: date, end: date) -> date:
    if reference == "first_day":
        return start
    if reference == "last_day":
        return end
    month, day = (int(part) for part in reference.split("-"))
    return date(start.year, month, day)


def _days(values: pl.Series) -> np.ndarray[Any, np.dtype[np.int64]]:
    return values.cast(pl.Int64).to_numpy()


def _held(periods: pl.DataFrame, unit_frame: pl.DataFrame, held: HeldWhen) -> pl.DataFrame:
    """(person_id, status, unit) for every unit in which a period counts under ``held``.

    Each period is turned into the range of unit indices it covers with a binary search over the few unit
    boundaries, then exploded: work grows with periods, not with persons times units.
    """
    if held == "every_day":
        periods = _merged(periods)
    starts = _days(periods["start_date"])
    ends = _days(periods["end_date"].fill_null(_OPEN_END))
    if held == "on_reference_date":
        refs = _days(unit_frame["reference_date"])
        first, last = np.searchsorted(refs, starts, "left"), np.searchsorted(refs, ends, "right") - 1
    elif held == "any_day":
        first = np.searchsorted(_days(unit_frame["period_end"]), starts, "left")
        last = np.searchsorted(_days(unit_frame["period_start"]), ends, "right") - 1
    else:
        first = np.searchsorted(_days(unit_frame["period_start"]), starts, "left")
        last = np.searchsorted(_days(unit_frame["period_end"]), ends, "right") - 1
    ranged = periods.select("person_id", "status").with_columns(
        first=pl.Series(first, dtype=pl.Int32), last=pl.Series(last, dtype=pl.Int32)
    )
    return (
        ranged.filter(pl.col("first") <= pl.col("last"))
        .select("person_id", "status", unit=pl.int_ranges("first", pl.col("last") + 1, dtype=pl.Int32))
        .explode("unit")
    )


def _merged(periods: pl.DataFrame) -> pl.DataFrame:
    """Adjacent or overlapping periods of one status joined, so "every day" sees continuous holding."""
    end = pl.col("end_date").fill_null(_OPEN_END)
    ordered = periods.sort("person_id", "status", "start_date").with_columns(end_filled=end)
    reach = pl.col("end_filled").cum_max().shift(1).over("person_id", "status")
    islands = ordered.with_columns(
        island=(reach.is_null() | (pl.col("start_date") > reach + pl.duration(days=1)))
        .cum_sum()
        .over("person_id", "status")
    )
    return islands.group_by("person_id", "status", "island").agg(
        pl.col("start_date").min(), pl.col("end_filled").max().alias("end_date")
    )


class _Frames:
    """The inputs of one evaluation, prepared once: persons, households, periods of the asked statuses."""

    def __init__(self, population: pl.DataFrame, periods: pl.DataFrame, codes: StatusCodes) -> None:
        self.codes = codes
        self.population = population.select(
            pl.col("person_id").cast(pl.Int64),
            pl.col("insz").cast(pl.String),
            pl.col("birth_date").cast(pl.Date),
            pl.col("municipality_nis").cast(pl.String),
            pl.col("household_id").cast(pl.String),
            pl.col("household_role").cast(pl.String),
        )
        self.periods = periods.select(
            pl.col("person_id").cast(pl.Int64),
            pl.col("status").cast(pl.String),
            pl.col("start_date").cast(pl.Date),
            pl.col("end_date").cast(pl.Date),
        )
        self.households = _households(self.population)
        # who shares statuses: the household, or the person alone when the register knows no household
        self.groups = self.population.select(
            "person_id",
            group=pl.coalesce(
                pl.col("household_id"), pl.lit("\x00person:") + pl.col("person_id").cast(pl.String)
            ),
        )

    def holders(
        self, codes: list[str], match: str, held: HeldWhen, by: HeldBy, unit_frame: pl.DataFrame
    ) -> pl.DataFrame:
        """(person_id, unit) of everyone meeting a status test (or living with someone who does)."""
        asked = pl.DataFrame(
            [(stored, code) for code in codes for stored in sorted(self.codes.expand([code]))],
            schema={"status": pl.String, "asked": pl.String},
            orient="row",
        )
        # periods renamed to the code asked, so "every day" joins VT_DEPENDANT followed by VT
        relevant = self.periods.join(asked, on="status").drop("status").rename({"asked": "status"})
        held_rows = _held(relevant, unit_frame, held).rename({"status": "asked"})
        key = "person_id"
        if by == "household":
            held_rows = held_rows.join(self.groups, on="person_id")
            key = "group"
        satisfied = held_rows.group_by(key, "unit").agg(pl.col("asked").n_unique().alias("n"))
        if match == "all":
            satisfied = satisfied.filter(pl.col("n") == len(codes))
        satisfied = satisfied.select(key, "unit")
        if by == "household":
            satisfied = satisfied.join(self.groups, on="group").select("person_id", "unit")
        return satisfied


def _households(population: pl.DataFrame) -> pl.DataFrame:
    """One row per household: its size and the member who receives a household right.

    The receiver is the head; a household without a head in the data is paid to its oldest member.
    """
    members = population.drop_nulls("household_id").with_columns(is_head=pl.col("household_role") == "head")
    ordered = members.sort(
        ["household_id", "is_head", "birth_date", "person_id"],
        descending=[False, True, False, False],
        nulls_last=True,
    )
    return ordered.group_by("household_id", maintain_order=True).agg(
        pl.len().alias("household_size"),
        pl.col("person_id").first().alias("receiver_id"),
    )


def evaluate_frames(
    rule: Rule,
    population: pl.DataFrame,
    periods: pl.DataFrame,
    *,
    on: date | None = None,
    start: date | None = None,
    end: date | None = None,
    overrides: Mapping[str, Any] | None = None,
    catalogue: Mapping[str, Rule] | None = None,
    codes: StatusCodes | None = None,
) -> pl.DataFrame:
    """Decide ``rule`` for everyone holding a ground, per period, as a frame of :data:`DECISION_COLUMNS`.

    ``population``: person_id, insz, birth_date, municipality_nis, household_id, household_role (as
    ``identity.population``). ``periods``: person_id, status, start_date, end_date (inclusive, null =
    open; as ``statuses.periods_frame``). ``overrides`` replaces parameters by constants, for simulation;
    ``catalogue`` supplies rules named in exclusions.
    """
    if overrides:
        rule = rule.override(parameters=dict(overrides))
    frames = _Frames(population, periods, codes or status_codes())
    window = Window.of(on, start, end)
    return _decide(rule, frames, units(rule, window), window, catalogue or {})


def _decide(
    rule: Rule, frames: _Frames, unit_frame: pl.DataFrame, window: Window, catalogue: Mapping[str, Rule]
) -> pl.DataFrame:
    if unit_frame.is_empty():
        return _empty()
    grounds = _grounds(rule, frames, unit_frame)
    candidates = _beneficiaries(rule, frames, grounds).join(unit_frame, on="unit")
    checks = _checks(rule, frames, candidates, unit_frame, window, catalogue)
    return _finish(rule, checks, unit_frame)


def _empty() -> pl.DataFrame:
    schema: dict[str, Any] = {
        "rule": pl.String,
        "person_id": pl.Int64,
        "insz": pl.String,
        "household_id": pl.String,
        "period_start": pl.Date,
        "period_end": pl.Date,
        "reference_date": pl.Date,
        "decision": pl.String,
        "ground": pl.String,
        "amount": AMOUNT_TYPE,
        "reasons": pl.List(pl.String),
    }
    return pl.DataFrame(schema=schema)


def _ground_units(ground: Ground, unit_frame: pl.DataFrame) -> pl.DataFrame:
    """The units in which a ground applies: those whose reference date lies in the ground's dates."""
    ref = pl.col("reference_date")
    keep = pl.lit(True)
    if ground.start is not None:
        keep = keep & (ref >= ground.start)
    if ground.end is not None:
        keep = keep & (ref <= ground.end)
    return unit_frame.filter(keep)


def _grounds(rule: Rule, frames: _Frames, unit_frame: pl.DataFrame) -> pl.DataFrame:
    """(person_id, unit, ground) with the first ground in priority order that each person holds."""
    found = []
    for priority, ground in enumerate(rule.grounds):
        applicable = _ground_units(ground, unit_frame)
        if applicable.is_empty():
            continue
        rows = frames.holders(ground.statuses, ground.match, ground.held, ground.held_by, unit_frame)
        rows = rows.join(applicable.select("unit"), on="unit", how="semi")
        found.append(rows.with_columns(priority=pl.lit(priority, pl.Int32)))
    if not found:
        return pl.DataFrame(schema={"person_id": pl.Int64, "unit": pl.Int32, "priority": pl.Int32})
    return pl.concat(found)


def _beneficiaries(rule: Rule, frames: _Frames, grounds: pl.DataFrame) -> pl.DataFrame:
    """One row per beneficiary and unit, with the winning ground and the receiving person."""
    names = pl.DataFrame(
        {"priority": list(range(len(rule.grounds))), "ground": [g.ground for g in rule.grounds]},
        schema={"priority": pl.Int32, "ground": pl.String},
    )
    people = frames.population
    if rule.beneficiary.entity == "person":
        best = grounds.group_by("person_id", "unit").agg(pl.col("priority").min())
        return best.join(names, on="priority").join(people, on="person_id").drop("priority")
    with_household = grounds.join(people.select("person_id", "household_id"), on="person_id")
    missing = with_household.filter(pl.col("household_id").is_null())
    best = (
        with_household.drop_nulls("household_id")
        .group_by("household_id", "unit")
        .agg(pl.col("priority").min())
        .join(frames.households.select("household_id", "receiver_id"), on="household_id")
        .rename({"receiver_id": "person_id"})
        .join(people.drop("household_id"), on="person_id")
    )
    alone = missing.group_by("person_id", "unit").agg(pl.col("priority").min()).join(people, on="person_id")
    together = pl.concat([best, alone.select(best.columns)])
    return together.join(names, on="priority").drop("priority")


def _parameter_per_unit(rule: Rule, name: str, unit_frame: pl.DataFrame) -> pl.Series:
    """A parameter's value in force on each unit's reference date (a loop over units, not persons)."""
    values = []
    for reference in unit_frame["reference_date"]:
        found = rule.parameter_value(name, reference)
        values.append(float(found.value) if found is not None else None)
    return pl.Series(name, values, dtype=pl.Float64)


def _bound_column(rule: Rule, bounds: Bounds, end: str, unit_frame: pl.DataFrame) -> pl.Series | None:
    bound = getattr(bounds, end)
    if bound is None:
        return None
    if bound.value is not None:
        return pl.Series(end, [float(bound.value)] * unit_frame.height, dtype=pl.Float64)
    return _parameter_per_unit(rule, bound.parameter, unit_frame)


def _within(value: pl.Expr, lower: str | None, upper: str | None) -> pl.Expr:
    test = pl.lit(True)
    if lower is not None:
        test = test & (value >= pl.col(lower))
    if upper is not None:
        test = test & (value <= pl.col(upper))
    return test


def _age(reference: pl.Expr, birth: pl.Expr) -> pl.Expr:
    """Age in completed years on the reference date."""
    before_birthday = (reference.dt.month() * 100 + reference.dt.day()) < (
        birth.dt.month() * 100 + birth.dt.day()
    )
    return reference.dt.year() - birth.dt.year() - before_birthday.cast(pl.Int32)


def _checks(
    rule: Rule,
    frames: _Frames,
    candidates: pl.DataFrame,
    unit_frame: pl.DataFrame,
    window: Window,
    catalogue: Mapping[str, Rule],
) -> pl.DataFrame:
    """Add one Kleene column per condition (true / false / null = unknown) and its reason code."""
    checks: list[tuple[str, pl.Expr, str, str]] = [
        (
            "born",
            pl.col("birth_date").is_null() | (pl.col("birth_date") <= pl.col("period_end")),
            "NOT_BORN",
            "NOT_BORN",
        ),
    ]
    table = candidates.join(
        frames.households.select("household_id", "household_size"), on="household_id", how="left"
    )
    conditions = rule.conditions
    if conditions.residence is not None:
        inside = pl.col("municipality_nis").is_in(conditions.residence.municipalities)
        checks.append(("residence", inside, "OUTSIDE_AREA", "MISSING_ADDRESS"))
    for name, bounds, value, missing in (
        ("age", conditions.age, _age(pl.col("reference_date"), pl.col("birth_date")), "MISSING_BIRTH_DATE"),
        ("household_size", conditions.household_size, pl.col("household_size"), "MISSING_HOUSEHOLD"),
    ):
        if bounds is None:
            continue
        limits = unit_frame.select("unit")
        for end in ("min", "max"):
            column = _bound_column(rule, bounds, end, unit_frame)
            if column is not None:
                limits = limits.with_columns(column.alias(f"{name}_{end}"))
        table = table.join(limits, on="unit")
        lower = f"{name}_min" if bounds.min else None
        upper = f"{name}_max" if bounds.max else None
        checks.append((name, _within(value, lower, upper), f"{name.upper()}_OUT_OF_RANGE", missing))
    for index, exclusion in enumerate(rule.exclusions):
        hit = _excluded(rule, exclusion, frames, unit_frame, window, catalogue)
        flag = f"excluded_{index}"
        table = table.join(hit.with_columns(pl.lit(True).alias(flag)), on=["person_id", "unit"], how="left")
        reason = (
            f"EXCLUDED_BY:{exclusion.right}"
            if exclusion.right
            else "EXCLUDED_STATUS:" + "+".join(exclusion.statuses or [])
        )
        checks.append((flag, pl.col(flag).is_null(), reason, reason))
    if rule.beneficiary.entity == "household":
        known = pl.when(pl.col("household_id").is_not_null()).then(pl.lit(True))
        checks.append(("household", known, "MISSING_HOUSEHOLD", "MISSING_HOUSEHOLD"))
    results = [expr.alias(f"ok_{name}") for name, expr, _, _ in checks]
    reasons = [
        pl.when(pl.col(f"ok_{name}").not_())
        .then(pl.lit(no))
        .when(pl.col(f"ok_{name}").is_null())
        .then(pl.lit(unknown))
        for name, _, no, unknown in checks
    ]
    return table.with_columns(results).with_columns(
        decision_ok=pl.all_horizontal([f"ok_{name}" for name, *_ in checks]),
        failures=pl.concat_list(reasons).list.drop_nulls(),
    )


def _excluded(
    rule: Rule,
    exclusion: Exclusion,
    frames: _Frames,
    unit_frame: pl.DataFrame,
    window: Window,
    catalogue: Mapping[str, Rule],
) -> pl.DataFrame:
    """(person_id, unit) of candidates an exclusion strikes out."""
    if exclusion.statuses is not None:
        hit = frames.holders(exclusion.statuses, "any", exclusion.held, exclusion.held_by, unit_frame)
        return hit.unique()
    if exclusion.right is None or exclusion.right not in catalogue:
        raise EvaluationError(f"rule {rule.id} excludes right {exclusion.right!r}, which was not supplied")
    other = catalogue[exclusion.right]
    granted = _decide(other, frames, units(other, window), window, catalogue).filter(
        pl.col("decision") == GRANTED
    )
    overlapping = granted.select("person_id", "period_start", "period_end").join(
        unit_frame.rename({"period_start": "unit_start", "period_end": "unit_end"}), how="cross"
    )
    return (
        overlapping.filter(
            (pl.col("period_start") <= pl.col("unit_end")) & (pl.col("period_end") >= pl.col("unit_start"))
        )
        .select("person_id", "unit")
        .unique()
    )


def _amounts(rule: Rule, unit_frame: pl.DataFrame) -> pl.DataFrame:
    """Per unit: the base amount in cents, the parameter reference used, and the months in the unit."""
    cents, references = [], []
    for reference in unit_frame["reference_date"]:
        if rule.amount.value is not None:
            value, cited = rule.amount.value, rule.legal_basis.reference
        else:
            assert rule.amount.parameter is not None
            found = rule.parameter_value(rule.amount.parameter, reference)
            if found is None:
                raise EvaluationError(
                    f"rule {rule.id}: parameter {rule.amount.parameter!r} has no value on {reference}"
                )
            value, cited = found.value, found.reference
        cents.append(int((value * 100).to_integral_value()))
        references.append(cited)
    months = (
        (pl.col("period_end").dt.year() * 12 + pl.col("period_end").dt.month())
        - (pl.col("period_start").dt.year() * 12 + pl.col("period_start").dt.month())
        + 1
    )
    return unit_frame.select(
        "unit",
        base_cents=pl.Series(cents, dtype=pl.Int64),
        amount_reference=pl.Series(references, dtype=pl.String),
        months=months.cast(pl.Int64),
    )


def _finish(rule: Rule, table: pl.DataFrame, unit_frame: pl.DataFrame) -> pl.DataFrame:
    multiplier = {
        "period": pl.lit(1, pl.Int64),
        "month": pl.col("months"),
        "member": pl.col("household_size"),
    }
    decision = (
        pl.when(pl.col("decision_ok"))
        .then(pl.lit(GRANTED))
        .when(pl.col("decision_ok").not_())
        .then(pl.lit(NOT_GRANTED))
        .otherwise(pl.lit(UNDETERMINED))
    )
    cents = pl.col("base_cents") * multiplier[rule.amount.per].cast(pl.Int64)
    return (
        table.join(_amounts(rule, unit_frame), on="unit")
        .with_columns(decision=decision)
        .select(
            pl.lit(rule.id).alias("rule"),
            "person_id",
            "insz",
            "household_id",
            "period_start",
            "period_end",
            "reference_date",
            "decision",
            "ground",
            pl.when(pl.col("decision") == GRANTED)
            .then(cents.cast(AMOUNT_TYPE) / 100)
            .cast(AMOUNT_TYPE)
            .alias("amount"),
            pl.when(pl.col("decision") == GRANTED)
            .then(pl.concat_list(pl.lit("GROUND:") + pl.col("ground")))
            .otherwise(pl.col("failures"))
            .alias("reasons"),
        )
        .sort("period_start", "person_id")
    )


def summary(rule: Rule, decisions: pl.DataFrame) -> dict[str, Any]:
    """The ``--json`` summary: distinct beneficiaries, total amount, beneficiaries per ground."""
    granted = decisions.filter(pl.col("decision") == GRANTED)
    key = "household_id" if rule.beneficiary.entity == "household" else "person_id"
    total = granted["amount"].sum() if granted.height else Decimal("0")
    by_ground = granted.group_by("ground").agg(pl.col(key).n_unique()).sort("ground")
    return {
        "rule": rule.id,
        "beneficiary_entity": rule.beneficiary.entity,
        "beneficiaries": granted[key].n_unique(),
        "decisions": granted.height,
        "undetermined": decisions.filter(pl.col("decision") == UNDETERMINED)[key].n_unique(),
        "total_amount": str(Decimal(str(total)).quantize(Decimal("0.01"))),
        "by_ground": dict(zip(by_ground["ground"].to_list(), by_ground[key].to_list(), strict=True)),
    }
