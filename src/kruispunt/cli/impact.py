"""CLI for impact simulation: ``kruispunt simulate RULE_ID ...`` and ``kruispunt simulate outreach ...``.

``simulate`` is a group whose first word is either a sub-command (``outreach``) or a rule id: a rule id is
handed to the hidden ``rule`` command, so the forms the officers type stay short.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from kruispunt import impact, rights
from kruispunt.cli._common import app_state, console, errors, fail, reporting_rejections
from kruispunt.cli.demo import DemoContext

DEMO_RULES = (
    ("61031", "waste-tax-exemption-huy"),
    ("64065", "waste-tax-exemption-saint-georges-sur-meuse"),
    ("62051", "waste-tax-exemption-herstal"),
)


class _RuleOrCommand(TyperGroup):
    """A group where an unknown first word is a rule id, passed on to the ``rule`` command."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["rule", *args]
        return super().resolve_command(ctx, args)


simulate_app = typer.Typer(
    cls=_RuleOrCommand,
    help=(
        "Simulate a right's reach and cost: kruispunt simulate RULE_ID --date D [--municipality NIS] "
        "[--current FILE] [--variant NAME:key=value,...] [--report FILE.html|.pdf] [--json] "
        "(all options: kruispunt simulate rule --help); or draw an OCMW outreach list."
    ),
    no_args_is_help=True,
)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


@simulate_app.command("rule", hidden=True)
def simulate_rule(
    rule_id: Annotated[str, typer.Argument(help="Rule id, e.g. waste-tax-exemption-huy.")],
    on: Annotated[str, typer.Option("--date", help="Date simulated, YYYY-MM-DD.")],
    municipality: Annotated[
        str | None, typer.Option(help="NIS code; default: a municipal rule's own, else the whole country.")
    ] = None,
    current: Annotated[
        Path | None, typer.Option(help="Who receives it today: INSZ per line, or an accounting export file.")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="NAME:key=value,... (repeatable); see docs/impact.md."),
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the report: FILE.html or FILE.pdf.")] = None,
    minutes_per_file: Annotated[
        float, typer.Option(help="Minutes of staff time per manual file.", min=0)
    ] = impact.DEFAULT_MINUTES_PER_FILE,
    hours_per_fte: Annotated[
        float, typer.Option(help="Working hours of one full-time equivalent a year.", min=1)
    ] = impact.DEFAULT_HOURS_PER_FTE,
    as_json: Annotated[bool, typer.Option("--json", help="Print every figure as JSON.")] = False,
) -> None:
    """Reach, cost, variants, take-up and staff time of RULE_ID on a date."""
    day = _day(on, "--date")
    if report is not None and report.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise fail(f"--report {report}: use a .html or .pdf file name")
    try:
        variants = [impact.Variant.parse(text) for text in variant or []]
        with reporting_rejections():
            simulation = impact.simulate(
                app_state().engine,
                rule_id,
                municipality,
                day,
                variants=variants,
                current=current,
                staff=impact.StaffTime(minutes_per_file, hours_per_fte),
            )
    except rights.UnknownRule as error:
        raise fail(f"{error.args[0] if error.args else error}; see 'kruispunt rights list'") from None
    except (impact.VariantError, impact.SimulationError, rights.EvaluationError) as error:
        raise fail(str(error)) from None
    figures = simulation.as_dict()
    if report is not None:
        impact.write_report(simulation, report)
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False))
        return
    _print(figures)
    if report is not None:
        console.print(f"report written to {report}")


def _print(figures: dict[str, Any]) -> None:
    b = figures["baseline"]
    place = figures["municipality"]["name"] if figures["municipality"] else "all municipalities"
    entity = figures["beneficiary_entity"]
    console.print(
        f"[bold]{figures['rule']}[/] in {place} on {figures['date']} (data of {figures['reference_date']})"
    )
    console.print(f"  {b['beneficiaries']:,} {entity}s, {b['persons']:,} persons reached, € {b['cost']}")
    table = Table("ground", f"{entity}s", "persons", "cost (€)")
    for row in b["by_ground"]:
        table.add_row(row["ground"], f"{row['beneficiaries']:,}", f"{row['persons']:,}", row["cost"])
    console.print(table)
    if figures["variants"]:
        compared = Table("variant", f"{entity}s", "Δ", "cost (€)", "Δ cost (€)")
        for v in figures["variants"]:
            d = v["difference"]
            compared.add_row(
                v["name"], f"{v['beneficiaries']:,}", f"{d['beneficiaries']:+,}", v["cost"], d["cost"]
            )
        console.print(compared)
    taken = figures["take_up"]
    if taken:
        rate = "-" if taken["non_take_up_rate"] is None else f"{taken['non_take_up_rate'] * 100:.1f} %"
        console.print(
            f"  take-up: {taken['entitled_receiving']:,} of {taken['entitled']:,} entitled receive it; "
            f"non-take-up {taken['non_take_up']:,} ({rate}); {taken['received_without_entitlement']:,} "
            f"receive it without entitlement; cost change € {taken['cost_change']}"
        )
    staff = figures["staff_time"]
    console.print(
        f"  staff time saved: {staff['hours']:,} hours = {staff['fte']} FTE ({staff['manual_files']:,} files)"
    )


@simulate_app.command("outreach")
def outreach(
    municipality: Annotated[str, typer.Option(help="NIS code of the OCMW's municipality.")],
    on: Annotated[str, typer.Option("--date", help="Date of the list, YYYY-MM-DD.")],
    partner: Annotated[str, typer.Option(help="KBO number of the OCMW asking (a partner of the hub).")],
    end_user: Annotated[str | None, typer.Option(help="The social worker drawing the list (logged).")] = None,
    case_reference: Annotated[
        str | None, typer.Option(help="The OCMW's file or project reference (logged).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the list as CSV.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """Persons probably entitled to leefloon or another OCMW right who hold none, with their indicators."""
    try:
        listing = impact.outreach(
            app_state().engine,
            municipality,
            _day(on, "--date"),
            partner=partner,
            end_user=end_user,
            case_reference=case_reference,
        )
    except impact.OutreachRefused as refused:
        raise fail(f"refused ({refused.reason.value}): {refused}") from None
    if out is not None:
        listing.persons.with_columns(indicators=listing.persons["indicators"].list.join("+")).write_csv(out)
    data = listing.as_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    console.print(
        f"{data['count']:,} persons in {municipality} on {data['date']} "
        f"(deliberation {data['deliberation']}, "
        f"audit records {'–'.join(map(str, data['audit_records'])) or 'none'})"
    )
    for code, count in data["by_indicator"].items():
        console.print(f"  {code}: {count:,} — {data['indicators'][code]}")
    for code in data["indicators_not_allowed"]:
        errors.print(f"  {code} not used: the deliberation does not allow its status", highlight=False)
    if out is not None:
        console.print(f"list written to {out}")


def demo_impact(context: DemoContext) -> None:
    """Write the HTML and PDF reports of the three municipalities' waste-tax exemptions."""
    as_of: date = context.facts.get("as_of") or date.today()
    tax_year = date(as_of.year, 1, 1)
    current = context.facts.get("accounting_file")
    for nis, rule_id in DEMO_RULES:
        variants = [
            impact.Variant.parse("higher-tax:amount=" + _raised(rule_id, tax_year)),
            impact.Variant.parse("without-VT:grounds=LEEFLOON+IGO+IVT"),
        ]
        uses_current = current is not None and nis == "61031"
        simulation = impact.simulate(
            context.app.engine,
            rule_id,
            nis,
            tax_year,
            variants=variants,
            current=current if uses_current else None,
        )
        figures = simulation.as_dict()
        for suffix in (".html", ".pdf"):
            impact.write_report(simulation, context.out / f"impact-{rule_id}{suffix}")
        console.print(
            f"  {figures['municipality']['name']}: {figures['baseline']['beneficiaries']:,} households, "
            f"€ {figures['baseline']['cost']}; report {context.out / f'impact-{rule_id}.html'} (and .pdf)"
        )


def _raised(rule_id: str, day: date) -> str:
    """The rule's amount on ``day`` raised by a fifth: the demo's "what if the tax were higher" variant."""
    rule = rights.load_rule(rule_id)
    assert rule.amount.parameter is not None
    found = rule.parameter_value(rule.amount.parameter, day)
    assert found is not None
    return str(round(found.value * 6 / 5, 2))
