"""Rights room: derived rights as data (``rules/``), their evaluation, the grant ledger, accounting files.

Public API (what other rooms and the shells may use):

- rules: :func:`load_rule`, :func:`load_catalogue`, :func:`parse_rule`, :class:`Rule` (with
  :meth:`Rule.override` for variants), :class:`RuleError` / :class:`RuleProblem` (file, line, field),
  :class:`UnknownRule`, :func:`rules_directory`;
- pure evaluation over frames (for simulation): :func:`evaluate_frames` (``on=`` a date, or ``start=`` /
  ``end=``; ``overrides=`` {parameter: value}), :func:`units`, :func:`summary`, :data:`DECISION_COLUMNS`,
  :data:`GRANTED`, :data:`NOT_GRANTED`, :data:`UNDETERMINED`, :class:`StatusCodes`,
  :class:`PopulationIndex` (a population frame by row, its households as dense integer groups);
- over the stored data: :func:`evaluate` -> :class:`Evaluation`, :func:`explain` -> :class:`Explanation`,
  :func:`read_population`, :func:`read_periods`;
- ledger: :func:`grant` -> :class:`GrantReport`, :func:`active_grants`, :func:`grant_history` (one
  person's grants and withdrawals, :class:`LedgerEntry`), :func:`regrant_persons` (for the
  mutation consumer: re-decide given person_ids), :func:`consume_mutations` (reads the mutation
  events through ``statuses.mutation_events``, one row per change);
- accounting: :func:`export` -> :class:`ExportReport`, :data:`FIXED_LAYOUT`, :data:`EXPORT_COLUMNS`;
- YAML tests: :func:`run_rule_tests` -> [:class:`TestOutcome`].
"""

from kruispunt.rights.codes import StatusCodes, status_codes
from kruispunt.rights.evaluate import (
    DECISION_COLUMNS,
    GRANTED,
    NOT_GRANTED,
    UNDETERMINED,
    EvaluationError,
    Window,
    evaluate_frames,
    summary,
    units,
)
from kruispunt.rights.export import EXPORT_COLUMNS, FIXED_LAYOUT, FIXED_WIDTH, ExportReport, NothingToExport
from kruispunt.rights.indexed import PopulationIndex
from kruispunt.rights.loader import (
    RuleError,
    RuleProblem,
    UnknownRule,
    load_catalogue,
    load_rule,
    parse_rule,
    rules_directory,
)
from kruispunt.rights.model import Rule
from kruispunt.rights.ruletests import TestOutcome, run_rule_tests
from kruispunt.rights.service import (
    Evaluation,
    Explanation,
    GrantReport,
    LedgerEntry,
    PersonNotFound,
    active_grants,
    consume_mutations,
    evaluate,
    explain,
    export,
    grant,
    grant_history,
    read_periods,
    read_population,
    regrant_persons,
)

__all__ = [
    "DECISION_COLUMNS",
    "EXPORT_COLUMNS",
    "FIXED_LAYOUT",
    "FIXED_WIDTH",
    "GRANTED",
    "NOT_GRANTED",
    "UNDETERMINED",
    "Evaluation",
    "EvaluationError",
    "Explanation",
    "ExportReport",
    "GrantReport",
    "LedgerEntry",
    "NothingToExport",
    "PersonNotFound",
    "PopulationIndex",
    "Rule",
    "RuleError",
    "RuleProblem",
    "StatusCodes",
    "TestOutcome",
    "UnknownRule",
    "Window",
    "active_grants",
    "consume_mutations",
    "evaluate",
    "evaluate_frames",
    "explain",
    "export",
    "grant",
    "grant_history",
    "load_catalogue",
    "load_rule",
    "parse_rule",
    "read_periods",
    "read_population",
    "regrant_persons",
    "rules_directory",
    "run_rule_tests",
    "status_codes",
    "summary",
    "units",
]
