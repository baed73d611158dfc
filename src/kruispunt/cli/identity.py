"""CLI for identity numbers and the person register: ``kruispunt id`` and ``kruispunt register``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kruispunt import identity
from kruispunt.cli._common import app_state, console, fail, reporting_rejections
from kruispunt.cli.demo import DemoContext

id_app = typer.Typer(help="Check and explain INSZ, BIS and KBO numbers.", no_args_is_help=True)
register_app = typer.Typer(help="The person register: load feeds, look people up.", no_args_is_help=True)


def describe_number(text: str) -> dict[str, Any]:
    """The ``id check --json`` contract for one input."""
    try:
        number = identity.parse_number(text)
    except identity.InvalidNumber as error:
        return {
            "input": text,
            "valid": False,
            "kind": None,
            "birth_date": None,
            "sex": None,
            "formatted": None,
            "error": f"{text!r} is not a valid number: {error}",
        }
    if isinstance(number, identity.KboNumber):
        return {
            "input": text,
            "valid": True,
            "kind": "kbo",
            "birth_date": None,
            "sex": None,
            "formatted": number.formatted,
            "error": None,
        }
    complete = number.birth_date.complete if number.birth_date else None
    return {
        "input": text,
        "valid": True,
        "kind": number.kind.value,
        "birth_date": complete.isoformat() if complete else None,
        "sex": number.sex.value if number.sex else None,
        "formatted": number.formatted,
        "error": None,
    }


@id_app.command("check")
def check(
    numbers: Annotated[list[str], typer.Argument(help="INSZ, BIS or KBO numbers, in any usual spelling.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array, an object per input.")
    ] = False,
) -> None:
    """Validate numbers; exit status 0 when all are valid, 1 otherwise."""
    results = [describe_number(n) for n in numbers]
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False))
    else:
        table = Table("input", "valid", "kind", "official form", "birth date", "sex", "error")
        for r in results:
            table.add_row(
                r["input"],
                "yes" if r["valid"] else "[red]no[/]",
                r["kind"] or "",
                r["formatted"] or "",
                r["birth_date"] or "",
                r["sex"] or "",
                r["error"] or "",
            )
        console.print(table)
    if not all(r["valid"] for r in results):
        raise typer.Exit(1)


@id_app.command("generate")
def generate(
    count: Annotated[int, typer.Option(min=1, max=100_000)] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    kind: Annotated[str, typer.Option(help="nr, bis or kbo")] = "nr",
) -> None:
    """Print valid, unique synthetic numbers (for tests; they identify nobody)."""
    generator = identity.NumberGenerator(seed)
    for _ in range(count):
        if kind == "kbo":
            typer.echo(generator.kbo().formatted)
        else:
            typer.echo(generator.insz(kind=identity.NumberKind(kind)).formatted)


@register_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Register feed, .csv or .parquet (see docs/feeds.md).")],
    as_of: Annotated[
        str | None, typer.Option(help="Date of household changes in this file (default today).")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write every error to this CSV when rejected.")] = None,
) -> None:
    """Load a register feed: validated whole, rejected whole, idempotent."""
    with reporting_rejections(report):
        result = identity.load_register(
            app_state().engine, file, as_of=date.fromisoformat(as_of) if as_of else None
        )
    if not result.changed_anything:
        console.print(f"{file}: {result.rows} rows, nothing changed")
        return
    console.print(
        f"{file}: {result.rows} rows; {result.persons_added} persons added, {result.persons_changed} changed "
        f"({result.addresses_changed} addresses, {result.households_changed} households, "
        f"{result.deaths_recorded} deaths)"
    )


@register_app.command("show")
def show(
    insz: Annotated[str, typer.Argument(help="Any of the person's numbers.")],
    at: Annotated[str | None, typer.Option(help="As of this date (default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A person's register record as of a date, with household and address history."""
    try:
        record = identity.find_person(app_state().engine, insz, date.fromisoformat(at) if at else None)
    except identity.InvalidNumber as error:
        raise fail(f"{insz!r}: {error}") from None
    if record is None:
        raise fail(f"{insz} is not in the register")
    if as_json:
        import dataclasses

        typer.echo(json.dumps(dataclasses.asdict(record), default=str, ensure_ascii=False))
        return
    console.print(
        f"[bold]{record.last_name}, {record.first_name}[/]  {identity.Insz.parse(record.insz).formatted}"
    )
    console.print(
        f"born {record.birth_date or 'unknown'}, sex {record.sex or 'unknown'}"
        + (f", died {record.death_date}" if record.death_date else "")
    )
    if len(record.numbers) > 1:
        console.print("numbers: " + ", ".join(record.numbers))
    if record.address:
        a = record.address
        place = identity.municipality(a.municipality_nis).name
        street = f"{a.street or ''} {a.house_number or ''}".strip()
        console.print(f"address: {street}, {a.postal_code or ''} {place} (since {a.valid_from})")
    table = Table("household " + (record.household_id or "-"), "role", "INSZ")
    for m in record.household:
        table.add_row(f"{m.last_name}, {m.first_name}", m.role, m.insz)
    console.print(table)


@register_app.command("replace-number")
def replace_number(old: str, new: str) -> None:
    """Replace a BIS number by a national register number; history follows."""
    try:
        identity.replace_number(app_state().engine, old, new)
    except (identity.RegisterError, identity.InvalidNumber) as error:
        raise fail(str(error)) from None
    console.print(f"{old} replaced by {new}")


def demo_identity(context: DemoContext) -> None:
    """Check a few numbers, load the register feed (from the synth step), show one household."""
    for checked in (describe_number(n) for n in ("93.05.18-223.61", "93051822362", "BE 0566.988.259")):
        verdict = "valid " + str(checked["kind"]) if checked["valid"] else str(checked["error"])
        console.print(f"  {checked['input']:>18}  {verdict}")
    register_file = context.facts.get("register_file")
    if register_file is None:
        console.print("  (no synthetic register file from an earlier step; skipping the load)")
        return
    result = identity.load_register(context.app.engine, register_file, as_of=context.facts.get("as_of"))
    console.print(
        f"  loaded {register_file.name}: {result.rows:,} rows, {result.persons_added:,} persons added, "
        f"{result.persons_changed:,} changed"
    )
    counts = identity.register_counts(context.app.engine)
    console.print(f"  register holds {counts['persons']:,} persons in {counts['households']:,} households")
