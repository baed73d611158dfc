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
    """The periods' other columns (person_id, status, ...) and each unit in which they count under ``held``.

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
    carried = [c for c in periods.columns if c not in ("start_date", "end_date")]
    ranged = periods.select(carried).with_columns(
        first=pl.Series(first, dtype=pl.Int32), last=pl.Series(last, dtype=pl.Int32)
    )
    # most periods count in a single unit (always so for one reference date): no explode for those
    single = ranged.filter(pl.col("first") == pl.col("last")).select(*carried, unit=pl.col("first"))
    several = (
        ranged.filter(pl.col("first") < pl.col("last"))
        .select(*carried, unit=pl.int_ranges("first", pl.col("last") + 1, dtype=pl.Int32))
        .explode("unit")
    )
    return pl.concat([single, several])


def _merged(periods: pl.DataFrame) -> pl.DataFrame:
    """Adjacent or overlapping periods of one status joined, so "every day" sees continuous holding."""
    keys = [c for c in periods.columns if c not in ("start_date", "end_date")]
    end = pl.col("end_date").fill_null(_OPEN_END)
    ordered = periods.sort(*keys, "start_date").with_columns(end_filled=end)
    reach = pl.col("end_filled").cum_max().shift(1).over(keys)
    islands = ordered.with_columns(
        island=(reach.is_null() | (pl.col("start_date") > reach + pl.duration(days=1))).cum_sum().over(keys)
    )
    return (
        islands.group_by(*keys, "island")
        .agg(pl.col("start_date").min(), pl.col("end_filled").max().alias("end_date"))
        .drop("island")
    )


class _Frames:
    """The inputs of one evaluation, prepared once: persons, households, periods of the asked statuses.

    Households are keyed by an integer ``group`` (a person without a household is a group of one, keyed
    by minus their person_id) so the joins of a national run work on integers, not strings.
    """

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
        self.population = self.population.with_columns(group=_group_keys(self.population))
        # statuses as an enum of the catalogue's codes: filters on them cost almost nothing
        stored = pl.Enum(sorted(codes.known))
        self.periods = periods.filter(pl.col("status").is_in(sorted(codes.known))).select(
            pl.col("person_id").cast(pl.Int64),
            pl.col("status").cast(pl.String).cast(stored),
            pl.col("start_date").cast(pl.Date),
            pl.col("end_date").cast(pl.Date),
        )
        self.person_group = self.population.select("person_id", "group")

    def households(self, groups: pl.DataFrame) -> pl.DataFrame:
        """Size and receiver of the households in ``groups`` (only those: most households hold nothing)."""
        return _households(self.population.join(groups.select("group").unique(), on="group", how="semi"))

    def holders(
        self, tests: list[tuple[int, list[str], str]], held: HeldWhen, by: HeldBy, unit_frame: pl.DataFrame
    ) -> tuple[pl.DataFrame, str]:
        """(key, unit, tag) of every person (key person_id) or household (key group) meeting a status test.

        ``tests`` are (tag, codes, any|all) sharing ``held`` and ``by``, answered in one pass over the
        periods: a national rule with four grounds reads its fifteen million periods once, not four times.
        """
        # each period renamed to the code asked, so "every day" joins VT_DEPENDANT followed by VT
        relevant = pl.concat(
            [
                self.periods.filter(pl.col("status").is_in(sorted(self.codes.expand([code])))).select(
                    "person_id", "start_date", "end_date", status=pl.lit(code), tag=pl.lit(tag, pl.Int32)
                )
                for tag, codes, _ in tests
                for code in codes
            ]
        )
        rows = _held(relevant, unit_frame, held)
        key = "person_id"
        if by == "household":
            rows = rows.join(self.person_group, on="person_id")
            key = "group"
        needed = pl.DataFrame(
            [(tag, len(codes) if match == "all" else 1) for tag, codes, match in tests],
            schema={"tag": pl.Int32, "needed": pl.UInt32},
            orient="row",
        )
        if all(match == "any" for _, _, match in tests):
            return rows.select(key, "unit", "tag"), key  # duplicates fold in the priority group-by
        counted = rows.group_by(key, "unit", "tag").agg(pl.col("status").n_unique().alias("n"))
        met = counted.join(needed, on="tag").filter(pl.col("n") >= pl.col("needed"))
        return met.select(key, "unit", "tag"), key

    def rekey(self, frame: pl.DataFrame, key: str, target: str) -> pl.DataFrame:
        """Move (key, unit, tag) rows to the beneficiary key: a household's rows to its members, or back."""
        if key == target:
            return frame
        return frame.join(self.person_group, on=key).select(target, "unit", "tag")


_PERSON_GROUP = 1 << 62


def _group_keys(population: pl.DataFrame) -> pl.Series:
    """An integer key per household: a 62-bit hash of its id (a person alone: a flag bit + person_id).

    Hashing is far cheaper than interning millions of strings. A second, independent hash checks that
    no two household ids share a key; should that ever happen the exact (slower) dense rank is used.
    """
    household = pl.col("household_id")
    hashed = population.select(
        first=(household.hash(11) // 4).cast(pl.Int64), second=household.hash(29), missing=household.is_null()
    ).with_columns(second=pl.when(pl.col("missing")).then(None).otherwise(pl.col("second")))
    # distinct ids colliding on one hash but not the other would count differently (nulls count once)
    if hashed["first"].filter(~hashed["missing"]).n_unique() != hashed["second"].drop_nulls().n_unique():
        key = population.select(household.rank("dense").cast(pl.Int64))["household_id"]
        hashed = hashed.with_columns(first=key)
    return hashed.select(
        pl.when(pl.col("missing"))
        .then(pl.lit(_PERSON_GROUP, pl.Int64) + population["person_id"].cast(pl.Int64))
        .otherwise(pl.col("first"))
        .alias("group")
    )["group"]


def _households(population: pl.DataFrame) -> pl.DataFrame:
    """One row per household (group): its size and the member who receives a household right.

    The receiver is the head (the lowest person_id if the data name several); a household without a head
    in the data is paid to its oldest member.
    """
    sizes = population.group_by("group").agg(pl.len().alias("household_size"))
    heads = (
        population.filter(pl.col("household_role") == "head")
        .group_by("group")
        .agg(pl.col("person_id").min().alias("receiver_id"))
    )
    headless = sizes.join(heads, on="group", how="anti").select("group")
    oldest = (
        population.join(headless, on="group", how="semi")
        .sort("group", "birth_date", "person_id", nulls_last=True)
        .unique("group", keep="first", maintain_order=True)
        .select("group", pl.col("person_id").alias("receiver_id"))
    )
    return sizes.join(pl.concat([heads, oldest]), on="group")


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


def _target(rule: Rule) -> str:
    """The key beneficiaries are counted by: each person, or each household (group)."""
    return "group" if rule.beneficiary.entity == "household" else "person_id"


def _grounds(rule: Rule, frames: _Frames, unit_frame: pl.DataFrame) -> pl.DataFrame:
    """(beneficiary key, unit, tag) for every ground each beneficiary holds; the tag is its priority."""
    target = _target(rule)
    applicable = pl.concat(
        [
            _ground_units(ground, unit_frame).select("unit", tag=pl.lit(priority, pl.Int32))
            for priority, ground in enumerate(rule.grounds)
        ]
    )
    batches: dict[tuple[HeldWhen, HeldBy], list[tuple[int, list[str], str]]] = {}
    for priority, ground in enumerate(rule.grounds):
        batches.setdefault((ground.held, ground.held_by), []).append(
            (priority, ground.statuses, ground.match)
        )
    found = []
    for (held, by), tests in batches.items():
        rows, key = frames.holders(tests, held, by, unit_frame)
        found.append(frames.rekey(rows, key, target).join(applicable, on=["unit", "tag"], how="semi"))
    return pl.concat(found)


def _beneficiaries(rule: Rule, frames: _Frames, grounds: pl.DataFrame) -> pl.DataFrame:
    """One row per beneficiary and unit, with the winning ground, the receiving person, household size."""
    names = pl.DataFrame(
        {"priority": list(range(len(rule.grounds))), "ground": [g.ground for g in rule.grounds]},
        schema={"priority": pl.Int32, "ground": pl.String},
    )
    target = _target(rule)
    best = (
        grounds.group_by(target, "unit").agg(pl.col("tag").min().alias("priority")).join(names, on="priority")
    )
    if target == "person_id":
        people = best.join(frames.population, on="person_id")
        sizes = frames.households(people).drop("receiver_id")
        return people.join(sizes, on="group").drop("priority")
    sizes = frames.households(best)
    receivers = best.join(sizes, on="group").rename({"receiver_id": "person_id"})
    return receivers.join(frames.population.drop("group"), on="person_id").drop("priority")


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
    table = candidates
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
        table = table.join(hit.with_columns(pl.lit(True).alias(flag)), on=[_target(rule), "unit"], how="left")
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
    """(beneficiary key, unit) of candidates an exclusion strikes out."""
    if exclusion.statuses is not None:
        tests = [(0, exclusion.statuses, "any")]
        hit, key = frames.holders(tests, exclusion.held, exclusion.held_by, unit_frame)
        return frames.rekey(hit, key, _target(rule)).select(_target(rule), "unit").unique()
    if exclusion.right is None or exclusion.right not in catalogue:
        raise EvaluationError(f"rule {rule.id} excludes right {exclusion.right!r}, which was not supplied")
    other = catalogue[exclusion.right]
    granted = _decide(other, frames, units(other, window), window, catalogue).filter(
        pl.col("decision") == GRANTED
    )
    overlapping = granted.select("person_id", "period_start", "period_end").join(
        unit_frame.rename({"period_start": "unit_start", "period_end": "unit_end"}), how="cross"
    )
    hit = overlapping.filter(
        (pl.col("period_start") <= pl.col("unit_end")) & (pl.col("period_end") >= pl.col("unit_start"))
    )
    rows = hit.select("person_id", "unit", tag=pl.lit(0, pl.Int32)).unique()
    return frames.rekey(rows, "person_id", _target(rule)).select(_target(rule), "unit").unique()


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
