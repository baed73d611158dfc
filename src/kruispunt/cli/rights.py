"""CLI for derived rights: ``kruispunt rights`` (catalogue, evaluate, explain, grant, export, test)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.table import Table

from kruispunt import rights
from kruispunt.cli._common import app_state, console, errors, fail
from kruispunt.cli.demo import DemoContext

rights_app = typer.Typer(
    help="Derived rights: rules as data, automatic granting, accounting files.", no_args_is_help=True
)

OUTPUT_COLUMNS = ("insz", "household_id", "period_start", "period_end", "ground", "amount", "rule")
DEMO_MUNICIPALITIES = ("61031", "64065", "62051")

DateOption = Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD.")]
FromOption = Annotated[str | None, typer.Option("--from", help="First day of a range, YYYY-MM-DD.")]
ToOption = Annotated[str | None, typer.Option("--to", help="Last day of a range, YYYY-MM-DD.")]


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def _window(on: str | None, start: str | None, end: str | None) -> rights.Window:
    try:
        return rights.Window.of(_day(on, "--date"), _day(start, "--from"), _day(end, "--to"))
    except rights.EvaluationError as error:
        raise fail(f"{error} (use --date D, or --from D --to D)") from None


def _catalogue_or_fail() -> dict[str, rights.Rule]:
    try:
        return rights.load_catalogue()
    except rights.RuleError as error:
        for problem in error.problems:
            errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None


def _known(rule_id: str) -> None:
    if rule_id not in _catalogue_or_fail():
        raise fail(f"no rule {rule_id!r}; see 'kruispunt rights list'")


@rights_app.command("list")
def list_rules(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The catalogue: every right with its authority, validity and legal basis."""
    catalogue = _catalogue_or_fail()
    rows = [
        {
            "id": r.id,
            "title": r.title.en,
            "authority": r.authority.name,
            "from": r.validity.start.isoformat(),
            "to": r.validity.end.isoformat() if r.validity.end else None,
            "beneficiary": r.beneficiary.entity,
            "legal_basis": r.legal_basis.url,
        }
        for r in catalogue.values()
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "title", "authority", "valid", "per")
    for row in rows:
        table.add_row(
            row["id"],
            row["title"],
            row["authority"],
            f"{row['from']} – {row['to'] or ''}",
            row["beneficiary"],
        )
    console.print(table)


@rights_app.command("check")
def check(
    directory: Annotated[Path | None, typer.Argument(help="A rules folder (default: the catalogue).")] = None,
) -> None:
    """Validate every rule file; print each problem as FILE:LINE: FIELD: REASON, exit 1 if any."""
    try:
        catalogue = rights.load_catalogue(directory)
    except rights.RuleError as error:
        for problem in error.problems:
            errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{len(catalogue)} rules valid")


def _write_decisions(granted: pl.DataFrame, out: Path) -> None:
    frame = granted.select(OUTPUT_COLUMNS)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        frame.write_csv(out)
    elif suffix == ".parquet":
        frame.write_parquet(out)
    elif suffix == ".json":
        rows = frame.with_columns(pl.col("amount").cast(pl.String)).to_dicts()
        out.write_text(json.dumps(rows, default=str, ensure_ascii=False), encoding="utf-8")
    else:
        raise fail(f"{out}: use a .csv, .parquet or .json file name")


@rights_app.command("evaluate")
def evaluate(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. covid-premium-2020.")],
    on: DateOption = None,
    start: FromOption = None,
    end: ToOption = None,
    municipality: Annotated[
        str | None, typer.Option(help="Only beneficiaries living in this NIS code.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Decisions file: .csv, .parquet or .json.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Decide a right for the whole stored population (or one municipality)."""
    _known(rule_id)
    window = _window(on, start, end)
    evaluation = rights.evaluate(
        app_state().engine, rule_id, start=window.start, end=window.end, municipality=municipality
    )
    if out is not None:
        _write_decisions(evaluation.granted, out)
    result = evaluation.summary()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    console.print(
        f"{rule_id}: {result['beneficiaries']:,} {result['beneficiary_entity']}s granted, "
        f"total € {result['total_amount']}, {result['undetermined']:,} undetermined"
    )
    for ground, count in result["by_ground"].items():
        console.print(f"  {ground}: {count:,}")
    if out is not None:
        console.print(f"decisions written to {out}")


@rights_app.command("explain")
def explain(
    rule_id: Annotated[str, typer.Argument()],
    insz: Annotated[str, typer.Argument(help="The person's INSZ.")],
    on: Annotated[str, typer.Option("--date", help="Reference date YYYY-MM-DD.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Why a person is (not) granted a right on a date: statuses, periods, parameters, legal references."""
    _known(rule_id)
    day = _day(on, "--date")
    assert day is not None
    try:
        explanation = rights.explain(app_state().engine, rule_id, insz, day)
    except rights.PersonNotFound as error:
        raise fail(str(error)) from None
    except ValueError as error:
        raise fail(f"{insz!r}: {error}") from None
    data = explanation.as_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    _print_explanation(data)


def _print_explanation(data: dict[str, Any]) -> None:
    console.print(f"[bold]{data['rule']}[/] — {data['title']['en']}")
    console.print(
        f"legal basis: {data['legal_basis']['reference']} ({data['legal_basis']['url']})", markup=False
    )
    period = " to ".join(data["period"]) if data["period"] else "-"
    console.print(
        f"{data['insz']} on {data['date']}: [bold]{data['decision']}[/]"
        + (f", ground {data['ground']}, amount € {data['amount']}" if data["ground"] else "")
        + f" (period {period})"
    )
    if data["receiver"] and data["receiver"] != data["insz"]:
        console.print(f"the household's right is received by {data['receiver']}")
    console.print("reasons: " + ", ".join(data["reasons"]), markup=False)
    statuses = Table("holder", "status", "from", "to", "source", title="status periods considered")
    for row in data["status_periods"]:
        statuses.add_row(
            row["holder"], row["status"], row["start_date"], row["end_date"] or "open", row["source"] or ""
        )
    console.print(statuses)
    parameters = Table("parameter", "on", "value", "unit", "reference", title="parameters")
    for p in data["parameters"]:
        parameters.add_row(p["name"], p["on"], p["value"] or "-", p["unit"], p["reference"] or "-")
    console.print(parameters)


@rights_app.command("grant")
def grant(
    rule_id: Annotated[str, typer.Argument()],
    on: DateOption = None,
    start: FromOption = None,
    end: ToOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Write the decisions to the append-only ledger; only what changed since the last run is written."""
    _known(rule_id)
    window = _window(on, start, end)
    report = rights.grant(app_state().engine, rule_id, start=window.start, end=window.end)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    if not report.changed_anything:
        console.print(f"{rule_id}: nothing changed ({report.unchanged:,} grants stand)")
        return
    console.print(
        f"{rule_id}: run {report.run_id}: {report.granted:,} granted, {report.withdrawn:,} withdrawn, "
        f"{report.unchanged:,} unchanged"
    )


@rights_app.command("consume")
def consume(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Re-decide granted rights for the persons touched by mutation events since the last run."""
    reports = rights.consume_mutations(app_state().engine)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports]))
        return
    if not reports:
        console.print("no new mutations concern a granted right")
    for report in reports:
        console.print(f"{report.rule_id}: {report.granted:,} granted, {report.withdrawn:,} withdrawn")


@rights_app.command("export")
def export(
    rule_id: Annotated[str, typer.Argument()],
    fmt: Annotated[str, typer.Option("--format", help="csv, fixed or json")],
    out: Annotated[Path, typer.Option(help="The file to write.")],
    start: FromOption = None,
    end: ToOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The accounting file of the granted rights: names, addresses, amounts, totals line and checksum."""
    _known(rule_id)
    if fmt not in ("csv", "fixed", "json"):
        raise fail(f"--format {fmt!r}: use csv, fixed or json")
    try:
        report = rights.export(
            app_state().engine, rule_id, fmt, out, start=_day(start, "--from"), end=_day(end, "--to")
        )
    except rights.NothingToExport as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    console.print(f"{out}: {report.records:,} records, total € {report.total_amount}, sha256 {report.sha256}")


@rights_app.command("test")
def test(
    directory: Annotated[Path | None, typer.Argument(help="A rules folder (default: the catalogue).")] = None,
) -> None:
    """Run every rule's YAML tests; exit 1 when one fails."""
    try:
        outcomes = rights.run_rule_tests(directory)
    except rights.RuleError as error:
        for problem in error.problems:
            errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None
    for outcome in outcomes:
        mark = "[green]ok[/]  " if outcome.passed else "[red]FAIL[/]"
        console.print(f"{mark} {outcome.file}: {outcome.name}")
        for failure in outcome.failures:
            console.print(f"       {failure}", markup=False)
    failed = sum(not o.passed for o in outcomes)
    console.print(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(1)


def demo_rights(context: DemoContext) -> None:
    """Evaluate the catalogue for the synthetic municipalities, grant Huy's exemption, export its file."""
    engine = context.app.engine
    catalogue = rights.load_catalogue()
    as_of: date = context.facts.get("as_of") or date.today()
    tax_year = date(as_of.year, 1, 1)
    for rule in catalogue.values():
        for nis in DEMO_MUNICIPALITIES:
            if rule.authority.nis not in (None, nis):
                continue
            window = _demo_window(rule, tax_year)
            evaluation = rights.evaluate(
                engine, rule.id, start=window.start, end=window.end, municipality=nis
            )
            result = evaluation.summary()
            console.print(
                f"  {rule.id} in {nis}: {result['beneficiaries']:,} {result['beneficiary_entity']}s, "
                f"€ {result['total_amount']}"
            )
    report = rights.grant(engine, "waste-tax-exemption-huy", on=tax_year)
    console.print(
        f"  ledger: {report.granted:,} granted, {report.withdrawn:,} withdrawn, "
        f"{report.unchanged:,} unchanged"
    )
    try:
        written = rights.export(
            engine, "waste-tax-exemption-huy", "csv", context.out / "waste-tax-exemption-huy.csv"
        )
    except rights.NothingToExport:
        console.print("  no grant to export (no Huy household holds a status on 1 January)")
        return
    console.print(
        f"  accounting file {written.path.name}: {written.records:,} records, € {written.total_amount}"
    )
    context.facts["accounting_file"] = written.path


def _demo_window(rule: rights.Rule, tax_year: date) -> rights.Window:
    """The tax year for yearly rights; the whole validity (up to the tax year) for the others."""
    if rule.period.unit == "year":
        return rights.Window(tax_year, tax_year)
    return rights.Window(rule.validity.start, rule.validity.end or tax_year)
