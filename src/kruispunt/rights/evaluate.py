"""The evaluation engine: a rule over frames of persons and status periods, whole columns at a time.

Pure: no database, no files. The service layer reads the frames; the impact room calls this with variant
rules. Decisions are three-valued (granted / not_granted / undetermined) with reason codes, combined with
Kleene logic: one definite "no" wins over missing data, missing data wins over "yes". Persons holding no
ground at all are not in the result (they are not granted, reason ``NO_GROUND``), so a national run does
not carry eleven million rows of "no"; :func:`kruispunt.rights.explain` answers for any single person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from kruispunt.rights.codes import StatusCodes, status_codes
from kruispunt.rights.indexed import BoolArray, IntArray, Periods, PopulationIndex, day_number, islands
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


@dataclass(frozen=True)
class _Unit:
    """One period decided: its index, first and last day, reference date (as day numbers too)."""

    index: int
    start: int
    end: int
    reference: int
    reference_date: date


def _unit_list(unit_frame: pl.DataFrame) -> list[_Unit]:
    return [
        _Unit(index, day_number(start), day_number(end), day_number(reference), reference)
        for index, start, end, reference in unit_frame.select(
            "unit", "period_start", "period_end", "reference_date"
        ).iter_rows()
    ]


class _Frames:
    """The inputs of one evaluation as indexed arrays, prepared once and shared by the rule and the rules
    its exclusions name (see :mod:`kruispunt.rights.indexed`)."""

    def __init__(
        self,
        population: pl.DataFrame | pl.LazyFrame | PopulationIndex,
        periods: pl.DataFrame | pl.LazyFrame,
        codes: StatusCodes,
        span: tuple[int, int],
        wanted: Iterable[str],
        residence: bool,
    ) -> None:
        self.codes = codes
        self.people = (
            population
            if isinstance(population, PopulationIndex)
            else PopulationIndex(population, residence=residence)
        )
        stored = codes.expand(code for code in wanted if code in codes.known)
        self.periods = Periods(periods, self.people, stored, span)
        self._islands: dict[str, tuple[IntArray, IntArray, IntArray]] = {}

    def space(self, entity: HeldBy) -> int:
        """How many keys an entity has: persons (rows) or households (groups)."""
        return self.people.groups if entity == "household" else self.people.size

    def holding(self, statuses: list[str], match: str, held: HeldWhen, by: HeldBy, unit: _Unit) -> IntArray:
        """Keys (rows, or groups for ``by`` household) meeting a status test in one unit; keys may repeat.

        ``match`` all: every code listed must be held (by the household: by its members together).
        """
        asked = list(dict.fromkeys(statuses))
        keys = [self._by(self._held(code, held, unit), by) for code in asked]
        if match == "any":
            return np.concatenate(keys)
        count = np.zeros(self.space(by), np.int32)
        for part in keys:
            seen = np.zeros(count.size, np.bool_)
            seen[part] = True
            count += seen
        return np.flatnonzero(count >= len(statuses))

    def best_ground(self, grounds: list[tuple[int, Ground]], unit: _Unit) -> IntArray:
        """Per key (row, or group for grounds held by the household), the best priority among grounds
        that share how and by whom they are held and ask for any of their codes: one pass over the
        periods for all of them, a national rule's fifteen million periods read once, not per ground."""
        held, by = grounds[0][1].held, grounds[0][1].held_by
        # priorities in one byte while they fit: half the memory the periods' random scatter touches
        narrow = max(rank for rank, _ in grounds) < _NO_GROUND_8
        kind, none = (np.int8, _NO_GROUND_8) if narrow else (np.int16, _NO_GROUND)
        priority: IntArray = np.full(len(self.periods.names), none, kind)
        for rank, ground in reversed(grounds):
            for stored in self.codes.expand(ground.statuses):
                if stored in self.periods.names:
                    priority[self.periods.names.index(stored)] = rank
        first, last = (unit.start, unit.end) if held == "any_day" else (unit.reference, unit.reference)
        rows, ranks = self.periods.ranked(priority, int(none), first, last)
        # the best per holder first (for a household ground, then per household from the holders alone,
        # in row order: the periods' random scatter goes into a small array by person, not through the
        # large table of groups)
        per_person = np.full(self.people.size, none, kind)
        np.minimum.at(per_person, rows, ranks)
        if by == "person":
            best: IntArray = per_person.astype(np.int16)
            best[per_person == none] = _NO_GROUND
            return best
        holders = np.flatnonzero(per_person != none)
        best = np.full(self.people.groups, _NO_GROUND, np.int16)
        np.minimum.at(best, self.people.group[holders], per_person[holders].astype(np.int16))
        return best

    def _held(self, code: str, held: HeldWhen, unit: _Unit) -> IntArray:
        """Rows of the persons holding ``code`` (or a code counting as it) in ``unit`` as ``held`` says."""
        if held == "every_day":
            rows, starts, ends = self._joined(code)
            return rows[(starts <= unit.start) & (ends >= unit.end)]
        stored = self.codes.expand([code])
        if held == "any_day":
            return self.periods.held(stored, unit.start, unit.end)
        return self.periods.held(stored, unit.reference, unit.reference)

    def _joined(self, code: str) -> tuple[IntArray, IntArray, IntArray]:
        # periods of the code and of those counting as it joined, so VT_DEPENDANT followed by VT is one
        if code not in self._islands:
            self._islands[code] = islands(*self.periods.of_codes(self.codes.expand([code])))
        return self._islands[code]

    def _by(self, rows: IntArray, by: HeldBy) -> IntArray:
        return self.people.group[rows] if by == "household" else rows

    def rekey(self, keys: IntArray, key: HeldBy, target: HeldBy) -> IntArray:
        """Keys moved to the beneficiary's: a person to their household, a household to its members."""
        if key == target:
            return keys
        if target == "household":
            return self.people.group[keys]
        return self.people.members(keys)


_NO_GROUND = np.int16(np.iinfo(np.int16).max)
_NO_GROUND_8 = np.int8(np.iinfo(np.int8).max)


@dataclass(frozen=True)
class _Candidates:
    """Who holds a ground, per unit, in output order (unit, then person_id): the person row receiving it,
    the unit, the priority of the winning ground, and the beneficiary's key (row, or household group)."""

    rows: IntArray
    unit: IntArray
    priority: IntArray
    key: IntArray


def _candidates(rule: Rule, frames: _Frames, unit_list: list[_Unit]) -> _Candidates:
    """Each beneficiary's best ground (lowest priority number) per unit, in output order."""
    target = rule.beneficiary.entity
    people = frames.people
    parts = []
    for unit in unit_list:
        best = _best_grounds(rule, frames, unit)
        keys = np.flatnonzero(best != _NO_GROUND)
        if target == "household":
            rows = people.in_id_order(people.receivers(keys))
            key = people.group[rows]
        else:
            rows = keys if people.ascending else people.in_id_order(keys)
            key = rows
        parts.append((rows, np.full(rows.size, unit.index, np.int32), best[key], key))
    if len(parts) == 1:
        return _Candidates(*parts[0])
    if not parts:
        empty = np.zeros(0, np.int64)
        return _Candidates(empty, empty, empty, empty)
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return _Candidates(*columns)


def _best_grounds(rule: Rule, frames: _Frames, unit: _Unit) -> IntArray:
    """Per beneficiary key, the priority of the first ground met in ``unit`` (or none).

    Grounds asking for any of their codes on a date or any day are answered together per (held,
    held_by); the others (all codes, every day) one by one. Minima commute, so the order is free.
    """
    target = rule.beneficiary.entity
    best = np.full(frames.space(target), _NO_GROUND, np.int16)
    batches: dict[tuple[HeldWhen, HeldBy], list[tuple[int, Ground]]] = {}
    for priority, ground in enumerate(rule.grounds):
        if not _applies(ground, unit.reference_date):
            continue
        if ground.match == "any" and ground.held != "every_day":
            batches.setdefault((ground.held, ground.held_by), []).append((priority, ground))
            continue
        keys = frames.holding(ground.statuses, ground.match, ground.held, ground.held_by, unit)
        np.minimum.at(best, frames.rekey(keys, ground.held_by, target), np.int16(priority))
    for (_, by), grounds in batches.items():
        found = frames.best_ground(grounds, unit)
        if by == target:
            np.minimum(best, found, out=best)
        elif target == "household":  # a person's ground counts for their household
            held = np.flatnonzero(found != _NO_GROUND)
            np.minimum.at(best, frames.people.group[held], found[held])
        else:  # a household's ground counts for each member
            np.minimum(best, found[frames.people.group], out=best)
    return best


def _applies(ground: Ground, reference: date) -> bool:
    """A ground counts for the units whose reference date lies within the ground's dates."""
    return (ground.start is None or reference >= ground.start) and (
        ground.end is None or reference <= ground.end
    )


def evaluate_frames(
    rule: Rule,
    population: pl.DataFrame | pl.LazyFrame | PopulationIndex,
    periods: pl.DataFrame | pl.LazyFrame,
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
    ``identity.population``), and optionally household_key, an integer per household (faster than the
    string ids); or a :class:`PopulationIndex` of such a frame, to share its work between evaluations.
    ``periods``: person_id, status, start_date, end_date (inclusive, null = open; as
    ``statuses.periods_frame``). Either may be lazy (a Parquet scan): only the columns and periods
    the rule needs are then read. ``overrides`` replaces parameters by constants, for simulation;
    ``catalogue`` supplies rules named in exclusions. Rows come sorted by period_start, then person_id.
    """
    if overrides:
        rule = rule.override(parameters=dict(overrides))
    window = Window.of(on, start, end)
    catalogue = catalogue or {}
    needed = _rules_needed(rule, catalogue)
    wanted = {code for each in needed for code in each.status_codes()}
    residence = any(each.conditions.residence is not None for each in needed)
    frames = _Frames(population, periods, codes or status_codes(), _span(needed, window), wanted, residence)
    return _decide(rule, frames, units(rule, window), window, catalogue)


def _rules_needed(rule: Rule, catalogue: Mapping[str, Rule]) -> list[Rule]:
    """The rule and the rules its exclusions name, transitively (one not supplied fails when decided)."""
    found = [rule]
    seen: set[str] = set()
    todo = list(rule.rights_referred())
    while todo:
        name = todo.pop()
        if name not in seen and name in catalogue:
            seen.add(name)
            found.append(catalogue[name])
            todo.extend(catalogue[name].rights_referred())
    return found


def _span(rules: list[Rule], window: Window) -> tuple[int, int]:
    """The first and last day any test of these rules looks at for ``window``: periods outside it are
    dropped before anything else is done with them (a national rule on 1 January needs only the periods
    running on that day)."""
    days: list[int] = []
    for rule in rules:
        tests = [g.held for g in rule.grounds] + [e.held for e in rule.exclusions if e.statuses is not None]
        for unit in _unit_list(units(rule, window)):
            if "on_reference_date" in tests:
                days.append(unit.reference)
            if "any_day" in tests or "every_day" in tests:
                days.extend((unit.start, unit.end))
    return (min(days), max(days)) if days else (0, -1)


def _decide(
    rule: Rule, frames: _Frames, unit_frame: pl.DataFrame, window: Window, catalogue: Mapping[str, Rule]
) -> pl.DataFrame:
    if unit_frame.is_empty():
        return _empty()
    unit_list = _unit_list(unit_frame)
    found = _candidates(rule, frames, unit_list)
    table, checks = _checks(rule, frames, found, unit_frame, unit_list, window, catalogue)
    return _finish(rule, table, checks, found, unit_frame)


_SCHEMA = pl.Schema(
    {
        "rule": pl.String(),
        "person_id": pl.Int64(),
        "insz": pl.String(),
        "household_id": pl.String(),
        "period_start": pl.Date(),
        "period_end": pl.Date(),
        "reference_date": pl.Date(),
        "decision": pl.String(),
        "ground": pl.String(),
        "amount": AMOUNT_TYPE,
        "reasons": pl.List(pl.String),
    }
)


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_SCHEMA)


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


_Check = tuple[pl.Expr, str, str]  # true / false / null (unknown), reason when false, reason when unknown


def _checks(
    rule: Rule,
    frames: _Frames,
    found: _Candidates,
    unit_frame: pl.DataFrame,
    unit_list: list[_Unit],
    window: Window,
    catalogue: Mapping[str, Rule],
) -> tuple[pl.DataFrame, list[_Check]]:
    """The candidates with what the conditions read, and one Kleene test per condition with its reasons.

    Columns are gathered by row and unit number from the population and the few units: no joins.
    """
    conditions = rule.conditions
    people = frames.people
    # the INSZ is only copied into the table, but read in the same pass as what the checks read
    wanted = ["insz", "household_id", "birth_date"]
    if conditions.residence is not None:
        wanted.append("municipality_nis")
    per_unit = pl.Series(found.unit)
    table = pl.concat(
        [
            people.person_ids(found.rows).to_frame(),
            people.columns(wanted, found.rows),
            unit_frame.select(pl.col("period_start", "period_end", "reference_date").gather(per_unit)),
        ],
        how="horizontal",
    )
    if conditions.household_size is not None or rule.amount.per == "member":
        table = table.with_columns(household_size=pl.Series(people.sizes[people.group[found.rows]]))
    checks: list[_Check] = [
        (
            pl.col("birth_date").is_null() | (pl.col("birth_date") <= pl.col("period_end")),
            "NOT_BORN",
            "NOT_BORN",
        )
    ]
    if conditions.residence is not None:
        inside = pl.col("municipality_nis").is_in(conditions.residence.municipalities)
        checks.append((inside, "OUTSIDE_AREA", "MISSING_ADDRESS"))
    for name, bounds, value, missing in (
        ("age", conditions.age, _age(pl.col("reference_date"), pl.col("birth_date")), "MISSING_BIRTH_DATE"),
        ("household_size", conditions.household_size, pl.col("household_size"), "MISSING_HOUSEHOLD"),
    ):
        if bounds is None:
            continue
        limits = {}
        for end in ("min", "max"):
            column = _bound_column(rule, bounds, end, unit_frame)
            if column is not None:
                limits[f"{name}_{end}"] = column.gather(per_unit)
        table = table.with_columns(**limits)
        lower = f"{name}_min" if bounds.min else None
        upper = f"{name}_max" if bounds.max else None
        checks.append((_within(value, lower, upper), f"{name.upper()}_OUT_OF_RANGE", missing))
    for index, exclusion in enumerate(rule.exclusions):
        flag = f"excluded_{index}"
        hit = _excluded(rule, exclusion, frames, found, unit_list, window, catalogue)
        table = table.with_columns(pl.Series(flag, hit))
        reason = (
            f"EXCLUDED_BY:{exclusion.right}"
            if exclusion.right
            else "EXCLUDED_STATUS:" + "+".join(exclusion.statuses or [])
        )
        checks.append((pl.col(flag).not_(), reason, reason))
    if rule.beneficiary.entity == "household":
        known = pl.when(pl.col("household_id").is_not_null()).then(pl.lit(True))
        checks.append((known, "MISSING_HOUSEHOLD", "MISSING_HOUSEHOLD"))
    return table, checks


def _excluded(
    rule: Rule,
    exclusion: Exclusion,
    frames: _Frames,
    found: _Candidates,
    unit_list: list[_Unit],
    window: Window,
    catalogue: Mapping[str, Rule],
) -> BoolArray:
    """Per candidate: does this exclusion strike them out?"""
    target = rule.beneficiary.entity
    hit = np.zeros(found.rows.size, np.bool_)
    if exclusion.statuses is not None:
        for unit in unit_list:
            keys = frames.holding(exclusion.statuses, "any", exclusion.held, exclusion.held_by, unit)
            _mark(hit, found, unit, frames.rekey(keys, exclusion.held_by, target), frames.space(target))
        return hit
    if exclusion.right is None or exclusion.right not in catalogue:
        raise EvaluationError(f"rule {rule.id} excludes right {exclusion.right!r}, which was not supplied")
    other = catalogue[exclusion.right]
    granted = _decide(other, frames, units(other, window), window, catalogue).filter(
        pl.col("decision") == GRANTED
    )
    rows = frames.people.rows_of(granted["person_id"].to_numpy())
    starts = granted["period_start"].cast(pl.Int64).to_numpy()
    ends = granted["period_end"].cast(pl.Int64).to_numpy()
    for unit in unit_list:
        overlapping = rows[(starts <= unit.end) & (ends >= unit.start)]
        _mark(hit, found, unit, frames.rekey(overlapping, "person", target), frames.space(target))
    return hit


def _mark(hit: BoolArray, found: _Candidates, unit: _Unit, keys: IntArray, space: int) -> None:
    struck = np.zeros(space, np.bool_)
    struck[keys] = True
    here = found.unit == unit.index
    hit[here] = struck[found.key[here]]


def _base_cents(rule: Rule, unit_frame: pl.DataFrame) -> IntArray:
    """Per unit: the amount in cents in force on its reference date (a loop over units, not persons)."""
    cents = []
    for reference in unit_frame["reference_date"]:
        if rule.amount.value is not None:
            value = rule.amount.value
        else:
            assert rule.amount.parameter is not None
            found = rule.parameter_value(rule.amount.parameter, reference)
            if found is None:
                raise EvaluationError(
                    f"rule {rule.id}: parameter {rule.amount.parameter!r} has no value on {reference}"
                )
            value = found.value
        cents.append(int((value * 100).to_integral_value()))
    return np.array(cents, np.int64)


def _months(unit_frame: pl.DataFrame) -> IntArray:
    start, end = pl.col("period_start"), pl.col("period_end")
    months = (end.dt.year() * 12 + end.dt.month()) - (start.dt.year() * 12 + start.dt.month()) + 1
    return unit_frame.select(months.cast(pl.Int64)).to_series().to_numpy()


def _outcomes(
    rule: Rule, table: pl.DataFrame, checks: list[_Check], found: _Candidates, unit_cents: IntArray | None
) -> tuple[pl.DataFrame, BoolArray]:
    """Per candidate its decision, ground and reasons (and whether granted), without building a list on
    every row; with ``unit_cents`` (the amount per unit, when it depends on nothing else), the amount too.

    The check results of a candidate make one number (a base-3 digit per check: yes, no, unknown); the
    few numbers that occur are decided once (Kleene logic: one definite "no" wins over missing data,
    missing data wins over "yes"). With the ground (and the unit), that makes a few distinct rows (a
    granted candidate's reason is its ground), gathered in one pass.
    """
    state = [
        pl.when(test).then(0).when(test.not_()).then(1).otherwise(2) * 3**i
        for i, (test, _, _) in enumerate(checks)
    ]
    combination = table.select(pl.sum_horizontal(state).cast(pl.Int64)).to_series()
    present = [value for value in combination.unique().to_list() if value != 0]
    present.sort()
    names = [ground.ground for ground in rule.grounds]
    # one row per outcome (granted, then each combination present) and ground: slot = outcome * grounds
    # + the candidate's ground
    decisions, grounds, reasons = [GRANTED] * len(names), list(names), [[f"GROUND:{n}"] for n in names]
    for value in present:
        states = [value // 3**i % 3 for i in range(len(checks))]
        decisions.extend([NOT_GRANTED if 1 in states else UNDETERMINED] * len(names))
        grounds.extend(names)
        reasons.extend(
            [[(no, unknown)[s - 1] for s, (_, no, unknown) in zip(states, checks, strict=True) if s]]
            * len(names)
        )
    lookup = pl.DataFrame(
        {"decision": decisions, "ground": grounds, "reasons": reasons},
        schema={"decision": pl.String, "ground": pl.String, "reasons": pl.List(pl.String)},
    )
    values = combination.to_numpy()
    granted = values == 0
    slot = found.priority.astype(np.int64)
    if present:
        refused = ~granted
        outcome = 1 + np.searchsorted(np.array(present, np.int64), values[refused])
        slot[refused] += outcome * len(names)
    if unit_cents is not None:
        # the rows repeated per unit, each with its amount where granted (the null slot elsewhere)
        units, rows = unit_cents.size, lookup.height
        nulls = [units] * (rows - len(names))
        where = [index for unit in range(units) for index in [unit] * len(names) + nulls]
        lookup = pl.concat([lookup] * units).with_columns(_decimals(unit_cents).gather(where))
        if units > 1:
            slot += found.unit.astype(np.int64) * rows
    return lookup.select(pl.all().gather(pl.Series(slot))), granted


def _amounts(
    rule: Rule, table: pl.DataFrame, found: _Candidates, granted: BoolArray, unit_frame: pl.DataFrame
) -> pl.Series:
    """The amount of each granted candidate: a few distinct amounts (per unit, times the months or the
    members) turned into decimals once and gathered; null for a decision not granted."""
    base = _unit_cents(rule, unit_frame)
    if rule.amount.per == "member":
        members = table["household_size"].cast(pl.Int64).to_numpy()
        widest = int(members.max()) + 1 if members.size else 1
        cents: IntArray = (base[:, None] * np.arange(widest)[None, :]).ravel()
        slot = found.unit.astype(np.int64) * widest + members
    else:
        cents, slot = base, found.unit.astype(np.int64)
    return _decimals(cents).gather(pl.Series(np.where(granted, slot, cents.size)))


def _unit_cents(rule: Rule, unit_frame: pl.DataFrame) -> IntArray:
    """Per unit, the amount in cents of a beneficiary (before counting members)."""
    base = _base_cents(rule, unit_frame)
    return base * _months(unit_frame) if rule.amount.per == "month" else base


def _decimals(cents: IntArray) -> pl.Series:
    """Amounts in cents as decimals, and a null after them (the slot of a decision not granted)."""
    values = pl.Series("amount", [*cents.tolist(), None], dtype=pl.Int64)
    return (values.cast(AMOUNT_TYPE) / 100).cast(AMOUNT_TYPE)


def _finish(
    rule: Rule, table: pl.DataFrame, checks: list[_Check], found: _Candidates, unit_frame: pl.DataFrame
) -> pl.DataFrame:
    # an amount that depends on the unit alone comes with the outcome's gather; per member, on its own
    per_unit = _unit_cents(rule, unit_frame) if rule.amount.per != "member" else None
    decided, granted = _outcomes(rule, table, checks, found, per_unit)
    amount = decided["amount"] if per_unit is not None else _amounts(rule, table, found, granted, unit_frame)
    return table.select(
        pl.lit(rule.id).alias("rule"),
        "person_id",
        "insz",
        "household_id",
        "period_start",
        "period_end",
        "reference_date",
        decided["decision"],
        decided["ground"],
        amount,
        decided["reasons"],
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
