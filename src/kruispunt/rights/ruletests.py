"""The YAML tests beside each rule (``rules/<id>.test.yaml``): small situations and the expected decisions.

A lawyer can read and extend them: persons, their statuses, a date or a range, and what must come out.
A person absent from the decisions counts as ``not_granted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kruispunt.rights.evaluate import evaluate_frames
from kruispunt.rights.indexed import POPULATION_COLUMNS
from kruispunt.rights.loader import (
    RuleError,
    RuleProblem,
    load_catalogue,
    read_located,
    rule_files,
    rules_directory,
)
from kruispunt.rights.model import Rule


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TestPerson(_Strict):
    id: str
    birth_date: date | None = date(1960, 1, 1)
    municipality: str | None = "61031"
    household: str | None = None
    role: Literal["head", "partner", "child", "other"] = "head"


class TestStatus(_Strict):
    person: str
    status: str
    start: date = Field(alias="from")
    end: date | None = Field(default=None, alias="to")


class Expected(_Strict):
    person: str
    period_start: date | None = None
    decision: Literal["granted", "not_granted", "undetermined"]
    ground: str | None = None
    amount: Decimal | None = None
    reason: str | None = None


class RuleTest(_Strict):
    name: str
    on: date | None = Field(default=None, alias="date")
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    persons: list[TestPerson] = Field(min_length=1)
    statuses: list[TestStatus] = Field(default_factory=list)
    expect: list[Expected] = Field(min_length=1)
    total_amount: Decimal | None = None


class RuleTestFile(_Strict):
    rule: str
    tests: list[RuleTest] = Field(min_length=1)


@dataclass(frozen=True)
class TestOutcome:
    """One YAML test: passed, or the mismatches found."""

    file: str
    name: str
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def _frames(test: RuleTest) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = {person.id: index + 1 for index, person in enumerate(test.persons)}
    population = pl.DataFrame(
        {
            "person_id": list(ids.values()),
            "insz": list(ids),
            "birth_date": [p.birth_date for p in test.persons],
            "municipality_nis": [p.municipality for p in test.persons],
            "household_id": [p.household for p in test.persons],
            "household_role": [p.role for p in test.persons],
        },
        schema=POPULATION_COLUMNS,
    )
    periods = pl.DataFrame(
        {
            "person_id": [ids[s.person] for s in test.statuses],
            "status": [s.status for s in test.statuses],
            "start_date": [s.start for s in test.statuses],
            "end_date": [s.end for s in test.statuses],
        },
        schema={"person_id": pl.Int64, "status": pl.String, "start_date": pl.Date, "end_date": pl.Date},
    )
    return population, periods


def run_test(rule: Rule, test: RuleTest, catalogue: dict[str, Rule]) -> list[str]:
    """Evaluate one situation and compare with what it expects; return the mismatches."""
    population, periods = _frames(test)
    decisions = evaluate_frames(
        rule, population, periods, on=test.on, start=test.start, end=test.end, catalogue=catalogue
    )
    failures = []
    for expected in test.expect:
        rows = decisions.filter(pl.col("insz") == expected.person)
        if expected.period_start is not None:
            rows = rows.filter(pl.col("period_start") == expected.period_start)
        if rows.is_empty():
            if expected.decision != "not_granted":
                failures.append(
                    f"{expected.person}: expected {expected.decision}, got no decision (not_granted)"
                )
            continue
        for row in rows.iter_rows(named=True):
            failures.extend(_compare(expected, row))
    if test.total_amount is not None:
        total = decisions["amount"].drop_nulls().sum() if decisions.height else 0
        if Decimal(str(total)) != test.total_amount:
            failures.append(f"total amount: expected {test.total_amount}, got {total}")
    return failures


def _compare(expected: Expected, row: dict[str, object]) -> list[str]:
    where = f"{expected.person} {row['period_start']}"
    failures = []
    if row["decision"] != expected.decision:
        failures.append(f"{where}: expected {expected.decision}, got {row['decision']} {row['reasons']}")
    if expected.ground is not None and row["ground"] != expected.ground:
        failures.append(f"{where}: expected ground {expected.ground}, got {row['ground']}")
    if expected.amount is not None and Decimal(str(row["amount"])) != expected.amount:
        failures.append(f"{where}: expected amount {expected.amount}, got {row['amount']}")
    if expected.reason is not None and expected.reason not in row["reasons"]:  # type: ignore[operator]
        failures.append(f"{where}: expected reason {expected.reason}, got {row['reasons']}")
    return failures


def test_files(directory: Path | None = None) -> list[Path]:
    """The YAML test files of the catalogue."""
    return sorted((directory or rules_directory()).glob("*.test.yaml"))


def run_rule_tests(directory: Path | None = None) -> list[TestOutcome]:
    """Run every rule's YAML tests; a rule without a test file is reported as a failure."""
    catalogue = load_catalogue(directory)
    outcomes = []
    tested = set()
    for path in test_files(directory):
        suite = _read_suite(path)
        if suite.rule not in catalogue:
            raise RuleError([RuleProblem(str(path), 1, "rule", f"unknown rule {suite.rule!r}")])
        tested.add(suite.rule)
        for test in suite.tests:
            outcomes.append(
                TestOutcome(path.name, test.name, run_test(catalogue[suite.rule], test, catalogue))
            )
    for path in rule_files(directory):
        if path.stem not in tested:
            outcomes.append(TestOutcome(path.name, "(tests)", [f"no {path.stem}.test.yaml beside the rule"]))
    return outcomes


def _read_suite(path: Path) -> RuleTestFile:
    located = read_located(path)
    try:
        return RuleTestFile.model_validate(located.data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = tuple(item["loc"])
            line = located.lines.get(where) or located.lines.get(where[:-1], 1)
            problems.append(RuleProblem(str(path), line, ".".join(map(str, where)), item["msg"]))
        raise RuleError(problems) from None
