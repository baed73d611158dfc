"""Loading rule files: YAML read with its line marks, validated whole, every problem told with file and line.

A rule that names an unknown status, an unknown parameter or rule, has an impossible date, or takes part
in a cycle of rules excluding each other never loads: the error says where in which file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kruispunt.rights.codes import StatusCodes, status_codes
from kruispunt.rights.model import Rule

Location = tuple[str | int, ...]
NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong in a rule file."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class RuleError(ValueError):
    """A rule file (or the catalogue) cannot be loaded; ``problems`` lists every reason with its line."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class UnknownRule(KeyError):
    """No rule with this id in the catalogue."""


def rules_directory() -> Path:
    """The catalogue folder: ``KRUISPUNT_RULES`` or ``rules/`` at the root of the source tree."""
    import os

    configured = os.environ.get("KRUISPUNT_RULES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "rules"


@dataclass(frozen=True)
class _Located:
    """Plain data from a YAML document, and the line (1-based) of every key and item in it."""

    data: Any
    lines: dict[Location, int]


def _plain(node: yaml.Node, here: Location, lines: dict[Location, int]) -> Any:
    lines[here] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                lines[(*here, key)] = key_node.start_mark.line + 1
                raise _Duplicate((*here, key))
            result[key] = _plain(value_node, (*here, key), lines)
            lines[(*here, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*here, index), lines) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return None if node.tag == NULL_TAG else node.value


class _Duplicate(Exception):
    def __init__(self, where: Location) -> None:
        self.where = where


def read_located(path: Path) -> _Located:
    """Parse one YAML document keeping lines; scalars stay text so the models decide their types."""
    name = str(path)
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as error:
        line = error.problem_mark.line + 1 if error.problem_mark else 1
        raise RuleError([RuleProblem(name, line, "(file)", f"not valid YAML: {error.problem}")]) from None
    if node is None:
        raise RuleError([RuleProblem(name, 1, "(file)", "the file is empty")])
    lines: dict[Location, int] = {}
    try:
        data = _plain(node, (), lines)
    except _Duplicate as duplicate:
        raise RuleError(
            [RuleProblem(name, lines[duplicate.where], _dotted(duplicate.where), "key given twice")]
        ) from None
    return _Located(data, lines)


def _dotted(where: Location) -> str:
    return ".".join(str(part) for part in where) or "(file)"


def _line(lines: dict[Location, int], where: Location) -> int:
    """The line of ``where``, or of its closest ancestor present in the file (a missing key)."""
    while where not in lines and where:
        where = where[:-1]
    return lines.get(where, 1)


def parse_rule(path: Path, codes: StatusCodes | None = None) -> Rule:
    """Load and validate one rule file completely; raise :class:`RuleError` listing every problem."""
    located = read_located(path)
    name = str(path)
    try:
        rule = Rule.model_validate(located.data)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            where = tuple(part for part in item["loc"] if part not in ("function-after",))
            where = tuple(p for p in where if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(RuleProblem(name, _line(located.lines, where), _dotted(where), item["msg"]))
        raise RuleError(problems) from None
    problems = _semantic_problems(rule, path, located.lines, codes or status_codes())
    if problems:
        raise RuleError(problems)
    return rule


def _semantic_problems(
    rule: Rule, path: Path, lines: dict[Location, int], codes: StatusCodes
) -> list[RuleProblem]:
    """What a schema cannot see: names that must exist, dates that must agree, the file name."""
    name = str(path)
    problems: list[RuleProblem] = []

    def report(where: Location, reason: str) -> None:
        problems.append(RuleProblem(name, _line(lines, where), _dotted(where), reason))

    if rule.id != path.stem:
        report(("id",), f"the id {rule.id!r} must equal the file name {path.stem!r}")
    for index, ground in enumerate(rule.grounds):
        for position, code in enumerate(ground.statuses):
            if code not in codes.known:
                report(("grounds", index, "statuses", position), f"unknown status {code!r}")
    for index, exclusion in enumerate(rule.exclusions):
        for position, code in enumerate(exclusion.statuses or []):
            if code not in codes.known:
                report(("exclusions", index, "statuses", position), f"unknown status {code!r}")
        if exclusion.right == rule.id:
            report(("exclusions", index, "right"), "cycle: the rule excludes itself")
    seen: set[str] = set()
    for index, ground in enumerate(rule.grounds):
        if ground.ground in seen:
            report(("grounds", index, "ground"), f"ground {ground.ground!r} listed twice")
        seen.add(ground.ground)
    for where, parameter in _parameter_uses(rule):
        if parameter not in rule.parameters:
            report(where, f"unknown parameter {parameter!r}")
    for key, dated in rule.parameters.items():
        first = dated.values[0].start
        if first > rule.validity.start:
            report(
                ("parameters", key, "values", 0, "from"),
                f"impossible dates: the first value starts {first}, after the rule does "
                f"({rule.validity.start})",
            )
        if rule.validity.end is not None and dated.values[-1].start > rule.validity.end:
            report(
                ("parameters", key, "values", len(dated.values) - 1, "from"),
                f"impossible dates: the value starts after the rule ends ({rule.validity.end})",
            )
    if rule.authority.level == "municipality" and rule.authority.nis is not None:
        problems.extend(_unknown_municipalities([rule.authority.nis], name, lines, ("authority", "nis")))
    if rule.conditions.residence is not None:
        for position, nis in enumerate(rule.conditions.residence.municipalities):
            problems.extend(
                _unknown_municipalities(
                    [nis], name, lines, ("conditions", "residence", "municipalities", position)
                )
            )
    return problems


def _parameter_uses(rule: Rule) -> Iterable[tuple[Location, str]]:
    if rule.amount.parameter:
        yield ("amount", "parameter"), rule.amount.parameter
    for condition in ("age", "household_size"):
        bounds = getattr(rule.conditions, condition)
        for end in ("min", "max"):
            bound = getattr(bounds, end, None) if bounds else None
            if bound is not None and bound.parameter:
                yield ("conditions", condition, end, "parameter"), bound.parameter


def _unknown_municipalities(
    codes: list[str], name: str, lines: dict[Location, int], where: Location
) -> list[RuleProblem]:
    from kruispunt.identity import UnknownMunicipality, municipality

    problems = []
    for code in codes:
        try:
            municipality(code)
        except UnknownMunicipality:
            problems.append(
                RuleProblem(name, _line(lines, where), _dotted(where), f"unknown municipality {code!r}")
            )
    return problems


def rule_files(directory: Path | None = None) -> list[Path]:
    """The rule files of the catalogue (YAML tests, ``*.test.yaml``, excluded)."""
    folder = directory or rules_directory()
    return sorted(p for p in folder.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def load_catalogue(directory: Path | None = None, codes: StatusCodes | None = None) -> dict[str, Rule]:
    """Every rule of the catalogue, validated together: all problems of all files, then cycles."""
    rules: dict[str, Rule] = {}
    paths: dict[str, Path] = {}
    problems: list[RuleProblem] = []
    for path in rule_files(directory):
        try:
            rule = parse_rule(path, codes)
        except RuleError as error:
            problems.extend(error.problems)
            continue
        rules[rule.id] = rule
        paths[rule.id] = path
    if problems:
        raise RuleError(problems)
    problems = _reference_problems(rules, paths)
    if problems:
        raise RuleError(problems)
    return rules


def _reference_problems(rules: dict[str, Rule], paths: dict[str, Path]) -> list[RuleProblem]:
    """Rules named in exclusions must exist, and no chain of exclusions may come back to its start."""
    problems = []
    for rule_id, rule in rules.items():
        for other in sorted(rule.rights_referred() - set(rules)):
            problems.append(_problem_at(paths[rule_id], ("exclusions",), f"unknown right {other!r}"))
    if problems:
        return problems
    try:
        tuple(TopologicalSorter({k: r.rights_referred() for k, r in rules.items()}).static_order())
    except CycleError as error:
        cycle = list(error.args[1])
        start = cycle[0]
        chain = " -> ".join(cycle)
        problems.append(_problem_at(paths[start], ("exclusions",), f"cycle between rights: {chain}"))
    return problems


def _problem_at(path: Path, where: Location, reason: str) -> RuleProblem:
    lines = read_located(path).lines
    return RuleProblem(str(path), _line(lines, where), _dotted(where), reason)


def load_rule(rule_id: str, directory: Path | None = None, codes: StatusCodes | None = None) -> Rule:
    """The rule ``rule_id`` from the catalogue (the whole catalogue is checked, so a cycle is caught)."""
    catalogue = load_catalogue(directory, codes)
    if rule_id not in catalogue:
        raise UnknownRule(f"no rule {rule_id!r} in the catalogue ({', '.join(sorted(catalogue))})")
    return catalogue[rule_id]
