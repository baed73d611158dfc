"""What the rights room does for its users: evaluate from the stored data, explain, grant, consume mutations.

Reads the register and the GSS buffer as frames (never person by person) and hands them to the pure engine
in :mod:`kruispunt.rights.evaluate`. The ledger is written in one transaction per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, String, cast, func, insert, select, text

from kruispunt import identity, statuses
from kruispunt.rights.evaluate import AMOUNT_TYPE, GRANTED, Window, evaluate_frames, summary, units
from kruispunt.rights.export import ExportReport, accounting_records, write_export
from kruispunt.rights.loader import load_catalogue
from kruispunt.rights.model import Rule
from kruispunt.rights.tables import grant_entry, grant_run
from kruispunt.store import bulk_insert, read_frame

LEDGER_LOCK_KEY = 7_300_005
_COMPARED = ("household_id", "period_end", "ground", "amount")


@dataclass(frozen=True)
class Evaluation:
    """A rule's decisions over stored data, with the dates asked."""

    rule: Rule
    window: Window
    decisions: pl.DataFrame

    @property
    def granted(self) -> pl.DataFrame:
        return self.decisions.filter(pl.col("decision") == GRANTED)

    def summary(self) -> dict[str, Any]:
        return summary(self.rule, self.decisions)


def _evaluation_dates(rule: Rule, window: Window) -> list[date]:
    """The register snapshots needed: the first and last reference dates of the window's periods."""
    frame = units(rule, window)
    if frame.is_empty():
        return [window.start]
    references: list[date] = frame["reference_date"].to_list()
    return sorted({references[0], references[-1]})


def read_population(engine: Engine, dates: Iterable[date]) -> pl.DataFrame:
    """Everyone in the register on any of ``dates``; a person's latest snapshot wins.

    One date: with the register's integer household keys (the engine groups households by them).
    Several: the keys of different snapshots do not agree, so they are left out.
    """
    wanted = sorted(set(dates), reverse=True)
    if len(wanted) == 1:
        return identity.population(engine, wanted[0], household_keys=True)
    frames = [identity.population(engine, at) for at in wanted]
    return pl.concat(frames).unique("person_id", keep="first", maintain_order=True)


def read_periods(
    engine: Engine, rule: Rule, known_at: datetime | None = None, person_ids: Iterable[int] | None = None
) -> pl.DataFrame:
    """The stored periods of the statuses the rule asks for (and those counting as them), of everyone or
    of ``person_ids``."""
    wanted = statuses.expand_codes(rule.status_codes())
    return statuses.periods_frame(engine, known_at=known_at, statuses=sorted(wanted), person_ids=person_ids)


def evaluate(
    engine: Engine,
    rule_id: str,
    *,
    on: date | None = None,
    start: date | None = None,
    end: date | None = None,
    municipality: str | None = None,
    known_at: datetime | None = None,
    person_ids: Iterable[int] | None = None,
) -> Evaluation:
    """Decide a right for the stored population (or the beneficiaries living in one municipality)."""
    catalogue = load_catalogue()
    rule = _rule(catalogue, rule_id)
    window = Window.of(on, start, end)
    population = read_population(engine, _evaluation_dates(rule, window))
    periods = pl.concat(
        [read_periods(engine, catalogue[r], known_at) for r in _rules_needed(catalogue, rule_id)]
    ).unique()
    if person_ids is not None:
        population, periods = _households_of(population, periods, person_ids)
    decisions = evaluate_frames(
        rule, population, periods, start=window.start, end=window.end, catalogue=catalogue
    )
    if municipality is not None:
        living = population.filter(pl.col("municipality_nis") == municipality).select("person_id")
        decisions = decisions.join(living, on="person_id", how="semi")
    return Evaluation(rule, window, decisions)


def _rule(catalogue: dict[str, Rule], rule_id: str) -> Rule:
    from kruispunt.rights.loader import UnknownRule

    if rule_id not in catalogue:
        raise UnknownRule(f"no rule {rule_id!r} in the catalogue ({', '.join(sorted(catalogue))})")
    return catalogue[rule_id]


def _rules_needed(catalogue: dict[str, Rule], rule_id: str) -> list[str]:
    """The rule and every rule its exclusions name, transitively (the catalogue has no cycles)."""
    seen: list[str] = []
    todo = [rule_id]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.append(current)
            todo.extend(catalogue[current].rights_referred())
    return seen


def _households_of(
    population: pl.DataFrame, periods: pl.DataFrame, person_ids: Iterable[int]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Restrict the frames to these persons and everyone sharing a household with them."""
    wanted = pl.Series("person_id", list(person_ids), dtype=pl.Int64).implode()
    households = population.filter(pl.col("person_id").is_in(wanted))["household_id"].drop_nulls().implode()
    scope = population.filter(pl.col("person_id").is_in(wanted) | pl.col("household_id").is_in(households))
    return scope, periods.join(scope.select("person_id"), on="person_id", how="semi")


# --- explain ---


@dataclass(frozen=True)
class Explanation:
    """Why a person is (not) granted a right on a date: the decision and everything it rests on."""

    rule: Rule
    insz: str
    on: date
    decision: str
    ground: str | None
    amount: str | None
    reasons: list[str]
    period: tuple[date, date] | None
    household: list[dict[str, Any]] = field(default_factory=list)
    periods: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    receiver: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "title": self.rule.title.model_dump(),
            "legal_basis": self.rule.legal_basis.model_dump(),
            "insz": self.insz,
            "date": self.on.isoformat(),
            "decision": self.decision,
            "ground": self.ground,
            "amount": self.amount,
            "reasons": self.reasons,
            "receiver": self.receiver,
            "period": [d.isoformat() for d in self.period] if self.period else None,
            "household": self.household,
            "status_periods": self.periods,
            "parameters": self.parameters,
        }


class PersonNotFound(LookupError):
    """The INSZ is not in the register on the date asked."""


def explain(engine: Engine, rule_id: str, insz: str, on: date) -> Explanation:
    """Decide one person on one date and gather the statuses, periods, parameters and references used."""
    catalogue = load_catalogue()
    rule = _rule(catalogue, rule_id)
    record = identity.find_person(engine, insz, on)
    if record is None:
        raise PersonNotFound(f"{insz} is not in the register on {on}")
    # Only the person's household is read: a citizen's page must not read the country.
    population = identity.population(engine, on, household_keys=True, around=record.person_id)
    person_id = population.filter(pl.col("person_id") == record.person_id)["person_id"]
    if person_id.is_empty():
        raise PersonNotFound(f"{insz} is not alive and registered on {on}")
    members = population["person_id"].to_list()
    periods = pl.concat(
        [read_periods(engine, catalogue[r], person_ids=members) for r in _rules_needed(catalogue, rule_id)]
    )
    scope, scoped_periods = _households_of(population, periods.unique(), person_id.to_list())
    decisions = evaluate_frames(rule, scope, scoped_periods, on=on, catalogue=catalogue)
    mine = _own_decision(rule, decisions, scope, int(person_id[0]))
    return _explanation(rule, record.insz, on, mine, scope, scoped_periods)


def _own_decision(rule: Rule, decisions: pl.DataFrame, scope: pl.DataFrame, person_id: int) -> pl.DataFrame:
    """The person's own decision, or for a household right the decision of their household."""
    household = scope.filter(pl.col("person_id") == person_id)["household_id"][0]
    if rule.beneficiary.entity == "household" and household is not None:
        return decisions.filter(pl.col("household_id") == household)
    return decisions.filter(pl.col("person_id") == person_id)


def _explanation(
    rule: Rule, insz: str, on: date, mine: pl.DataFrame, scope: pl.DataFrame, periods: pl.DataFrame
) -> Explanation:
    frame = units(rule, Window(on, on))
    reference = frame["reference_date"][0] if frame.height else on
    parameters = []
    for name, parameter in rule.parameters.items():
        value = parameter.value_on(reference)
        parameters.append(
            {
                "name": name,
                "on": reference.isoformat(),
                "value": str(value.value) if value else None,
                "unit": parameter.unit,
                "reference": value.reference if value else None,
            }
        )
    household = scope.select("insz", "household_id", "household_role", "municipality_nis").to_dicts()
    shown = periods.join(scope.select("person_id", pl.col("insz").alias("holder")), on="person_id")
    status_rows = shown.select("holder", "status", "start_date", "end_date", "source").sort(
        "holder", "start_date"
    )
    if mine.is_empty():
        in_window = (
            "" if frame.height else f"OUTSIDE_VALIDITY:{rule.validity.start}..{rule.validity.end or ''}"
        )
        reasons = [in_window or "NO_GROUND"]
        return Explanation(
            rule,
            insz,
            on,
            "not_granted",
            None,
            None,
            reasons,
            None,
            household,
            _jsonable(status_rows),
            parameters,
        )
    row = mine.row(0, named=True)
    return Explanation(
        rule,
        insz,
        on,
        row["decision"],
        row["ground"],
        str(row["amount"]) if row["amount"] is not None else None,
        list(row["reasons"]),
        (row["period_start"], row["period_end"]),
        household,
        _jsonable(status_rows),
        parameters,
        row["insz"],
    )


def _jsonable(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()} for row in frame.to_dicts()
    ]


# --- the grant ledger ---


@dataclass(frozen=True)
class GrantReport:
    """What one grant run changed: the run id and the deltas written (grants and withdrawals)."""

    rule_id: str
    run_id: int | None
    window: Window
    granted: int
    withdrawn: int
    unchanged: int
    deltas: pl.DataFrame

    @property
    def changed_anything(self) -> bool:
        return self.granted + self.withdrawn > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "run_id": self.run_id,
            "from": self.window.start.isoformat(),
            "to": self.window.end.isoformat(),
            "granted": self.granted,
            "withdrawn": self.withdrawn,
            "unchanged": self.unchanged,
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def active_grants(engine: Engine, rule_id: str) -> pl.DataFrame:
    """What ``rule_id`` grants now: per person and period the latest ledger row, when it is a grant."""
    ledger = read_frame(
        engine,
        select(
            grant_entry.c.id,
            grant_entry.c.action,
            grant_entry.c.person_id,
            grant_entry.c.insz,
            grant_entry.c.household_id,
            grant_entry.c.period_start,
            grant_entry.c.period_end,
            grant_entry.c.ground,
            # as text: ADBC hands PostgreSQL numerics over as an Arrow extension type Polars cannot cast
            cast(grant_entry.c.amount, String).label("amount"),
        ).where(grant_entry.c.rule_id == rule_id),
    )
    latest = ledger.sort("id").unique(["person_id", "period_start"], keep="last")
    return (
        latest.filter(pl.col("action") == "grant")
        .drop("id", "action")
        .with_columns(pl.col("amount").cast(pl.Float64).round(2).cast(AMOUNT_TYPE))
        .sort("period_start", "person_id")
    )


@dataclass(frozen=True)
class LedgerEntry:
    """One line of the grant ledger: a right granted, or withdrawn, for a person and a period."""

    rule_id: str
    action: str
    period_start: date
    period_end: date
    ground: str | None
    amount: float | None
    recorded_at: datetime


def grant_history(engine: Engine, person_id: int) -> list[LedgerEntry]:
    """Every grant and withdrawal of any right for one person, newest first (the person's rights history).

    Looks the person up rule by rule on the ledger's (rule, person) index: the rules are those that ever ran.
    """
    ran = select(grant_run.c.rule_id).distinct().scalar_subquery()
    statement = (
        select(
            grant_entry.c.rule_id,
            grant_entry.c.action,
            grant_entry.c.period_start,
            grant_entry.c.period_end,
            grant_entry.c.ground,
            grant_entry.c.amount,
            grant_entry.c.recorded_at,
        )
        .where(grant_entry.c.rule_id.in_(ran), grant_entry.c.person_id == person_id)
        .order_by(grant_entry.c.recorded_at.desc(), grant_entry.c.id.desc())
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return [
        LedgerEntry(
            r.rule_id,
            r.action,
            r.period_start,
            r.period_end,
            r.ground,
            None if r.amount is None else round(float(r.amount), 2),
            r.recorded_at,
        )
        for r in rows
    ]


def grant(
    engine: Engine,
    rule_id: str,
    *,
    on: date | None = None,
    start: date | None = None,
    end: date | None = None,
    person_ids: Iterable[int] | None = None,
    trigger: str = "run",
    last_event_seq: int | None = None,
) -> GrantReport:
    """Bring the ledger in line with the rule's decisions over the window; write only the deltas.

    Running it again grants nothing new. With ``person_ids`` only those persons and their households are
    re-decided (what the mutation consumer does after status changes).
    """
    scope = list(person_ids) if person_ids is not None else None
    evaluation = evaluate(engine, rule_id, on=on, start=start, end=end, person_ids=scope)
    with engine.begin() as conn:
        _lock(conn)
        current = _in_scope(active_grants(engine, rule_id), evaluation, scope)
        granted, withdrawn, unchanged = _deltas(evaluation.granted, current)
        deltas = pl.concat(
            [granted.with_columns(action=pl.lit("grant")), withdrawn.with_columns(action=pl.lit("withdraw"))]
        )
        run_id = None
        if deltas.height or trigger == "run" or last_event_seq is not None:
            run_id = _record_run(
                conn, evaluation, trigger, scope, granted.height, withdrawn.height, last_event_seq
            )
            bulk_insert(conn, grant_entry, _ledger_rows(deltas, rule_id, run_id))
    return GrantReport(
        rule_id, run_id, evaluation.window, granted.height, withdrawn.height, unchanged, deltas
    )


def _lock(conn: Connection) -> None:
    """One grant run at a time per database (SQLite already serialises on BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})


def _in_scope(active: pl.DataFrame, evaluation: Evaluation, scope: list[int] | None) -> pl.DataFrame:
    """The active grants this run answers for: the window's periods and, if given, those households."""
    periods = units(evaluation.rule, evaluation.window).select("period_start")
    active = active.join(periods, on="period_start", how="semi")
    if scope is None:
        return active
    households = evaluation.decisions["household_id"].drop_nulls().implode()
    persons = pl.Series(scope, dtype=pl.Int64).implode()
    return active.filter(pl.col("person_id").is_in(persons) | pl.col("household_id").is_in(households))


def _deltas(target: pl.DataFrame, current: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """New grants (absent or different) and withdrawals (gone or different), and how many stayed."""
    columns = ["person_id", "insz", "household_id", "period_start", "period_end", "ground", "amount"]
    target = target.select(columns)
    current = current.select(columns)
    same = target.join(current, on=["person_id", "period_start", *_COMPARED], how="semi", nulls_equal=True)
    granted = target.join(same, on=["person_id", "period_start"], how="anti")
    withdrawn = current.join(same, on=["person_id", "period_start"], how="anti")
    return granted, withdrawn, same.height


def _record_run(
    conn: Connection,
    evaluation: Evaluation,
    trigger: str,
    scope: list[int] | None,
    granted: int,
    withdrawn: int,
    last_event_seq: int | None,
) -> int:
    result = conn.execute(
        insert(grant_run).returning(grant_run.c.id),
        {
            "rule_id": evaluation.rule.id,
            "period_from": evaluation.window.start,
            "period_to": evaluation.window.end,
            "trigger": trigger,
            "scope_persons": len(scope) if scope is not None else None,
            "granted": granted,
            "withdrawn": withdrawn,
            "last_event_seq": last_event_seq,
            "recorded_at": _now(),
        },
    )
    return int(result.scalar_one())


def _ledger_rows(deltas: pl.DataFrame, rule_id: str, run_id: int) -> pl.DataFrame:
    # withdrawals first: a changed decision reads as "withdraw the old, grant the new" in id order
    ordered = deltas.sort(pl.col("action") == "grant", "period_start", "person_id")
    return ordered.select(
        pl.lit(run_id, pl.Int64).alias("run_id"),
        pl.lit(rule_id).alias("rule_id"),
        "action",
        "person_id",
        "insz",
        "household_id",
        "period_start",
        "period_end",
        "ground",
        pl.col("amount").cast(pl.Float64).round(2).alias("amount"),
        pl.lit(_now()).alias("recorded_at"),
    )


# --- the mutation consumer ---

_CONSUMED_KINDS = ("status.", "register.")


def regrant_persons(
    engine: Engine, person_ids: Iterable[int], *, last_event_seq: int | None = None
) -> list[GrantReport]:
    """Re-decide every right already granted over its granted windows, for these persons only.

    The function the mutation consumer calls after status or register changes: it grants and withdraws
    only what changed for them and their households.
    """
    scope = sorted(set(person_ids))
    reports: list[GrantReport] = []
    if not scope:
        return reports
    for rule_id, first, last in _granted_windows(engine):
        reports.append(
            grant(
                engine,
                rule_id,
                start=first,
                end=last,
                person_ids=scope,
                trigger="mutation",
                last_event_seq=last_event_seq,
            )
        )
    return reports


def _granted_windows(engine: Engine) -> list[tuple[str, date, date]]:
    """Per rule, the span of dates earlier grant runs covered."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(grant_run.c.rule_id, func.min(grant_run.c.period_from), func.max(grant_run.c.period_to))
            .where(grant_run.c.trigger == "run")
            .group_by(grant_run.c.rule_id)
            .order_by(grant_run.c.rule_id)
        ).all()
    return [(str(r[0]), r[1], r[2]) for r in rows]


def consume_mutations(engine: Engine) -> list[GrantReport]:
    """Read the mutation events since the last consumed one and re-decide the persons they touch."""
    with engine.connect() as conn:
        consumed = conn.execute(select(func.max(grant_run.c.last_event_seq))).scalar()
        # one row per change: a load's started periods expanded
        stream = statuses.mutation_events(conn, consumed or 0).subquery()
        events = conn.execute(select(stream.c.seq, stream.c.person_id, stream.c.kind)).all()
    relevant = [e for e in events if e.person_id is not None and e.kind.startswith(_CONSUMED_KINDS)]
    if not events:
        return []
    return regrant_persons(
        engine, {int(e.person_id) for e in relevant}, last_event_seq=max(e.seq for e in events)
    )


# --- accounting export ---


def export(
    engine: Engine,
    rule_id: str,
    fmt: str,
    out: Path,
    *,
    start: date | None = None,
    end: date | None = None,
) -> ExportReport:
    """Write the rule's active grants (optionally those in a date range) as an accounting file."""
    rule = _rule(load_catalogue(), rule_id)
    grants = active_grants(engine, rule_id)
    if start is not None:
        grants = grants.filter(pl.col("period_end") >= start)
    if end is not None:
        grants = grants.filter(pl.col("period_start") <= end)
    records = accounting_records(engine, rule, grants)
    return write_export(records, rule, fmt, out)  # type: ignore[arg-type]
