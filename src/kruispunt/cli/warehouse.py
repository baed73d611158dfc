"""CLI for the statistical warehouse: ``kruispunt dwh build|info|table|standard|extract|extracts|...``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kruispunt import warehouse
from kruispunt.cli._common import app_state, console, fail
from kruispunt.cli.demo import DemoContext
from kruispunt.warehouse.quarters import Quarter

dwh_app = typer.Typer(
    help="The statistical warehouse: pseudonymised facts, protected tables, research extracts.",
    no_args_is_help=True,
)
FORMATS = ("text", "csv", "json", "html")


@contextmanager
def _answering() -> Iterator[None]:
    """A request the warehouse refuses becomes a one-line error and exit status 1 (2 when not built)."""
    try:
        yield
    except warehouse.NotBuilt as error:
        raise fail(str(error), 2) from None
    except warehouse.WarehouseError as error:
        raise fail(str(error)) from None


def _filters(texts: list[str] | None) -> dict[str, tuple[str, ...]]:
    """``DIM=V1,V2`` options to a mapping; raises WarehouseError for a malformed one."""
    result: dict[str, tuple[str, ...]] = {}
    for text in texts or []:
        name, sep, values = text.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise warehouse.WarehouseError(f"filter {text!r}: write it as DIMENSION=VALUE[,VALUE...]")
        result[name.strip()] = tuple(v.strip() for v in values.split(",") if v.strip())
    return result


@dwh_app.command("build")
def build(
    quarters: Annotated[str, typer.Option(help="Quarter or range, e.g. 2019Q1:2024Q4.")] = (
        warehouse.DEFAULT_QUARTERS
    ),
) -> None:
    """Derive the pseudonymised person-quarter facts from the register and the statuses."""
    state = app_state()
    with _answering():
        report = warehouse.build(state.engine, state.settings.home, quarters)
    total = sum(report.quarters.values())
    console.print(
        f"built {len(report.quarters)} quarter(s), {total:,} person-quarters in {report.seconds:.1f} s "
        f"under {report.directory}"
    )
    if report.dropped:
        console.print(f"removed quarters built with an earlier key: {', '.join(report.dropped)}")


@dwh_app.command("info")
def info() -> None:
    """The built quarters and their person counts."""
    with _answering():
        manifest = warehouse.read_manifest(app_state().settings.home)
    console.print(f"key fingerprint {manifest['key_id']}")
    for quarter, entry in manifest["quarters"].items():
        console.print(f"{quarter}: {entry['persons']:,} persons (built {entry['built_at']})")


def _render(result: warehouse.ProtectedTable, output: str) -> str | Table:
    if output == "csv":
        return result.to_csv()
    if output == "json":
        return result.to_json()
    if output == "html":
        return result.to_html()
    shown = Table(*result.request.rows, *result.col_keys, "total", title=_title(result))
    for index, key in enumerate([*result.row_keys, ("total",) * len(result.request.rows)]):
        values = [result.cell(index, j) for j in range(len(result.col_keys) + 1)]
        shown.add_row(*key, *("x" if v is None else f"{v:,}" for v in values))
    return shown


def _title(result: warehouse.ProtectedTable) -> str:
    rounding = f", rounded to base {result.request.rounding_base}" if result.request.rounding_base else ""
    return (
        f"{result.request.measure} by {' x '.join(result.request.rows)} and {result.request.cols}, "
        f"{result.request.quarter} (x = suppressed, threshold {result.request.threshold}{rounding})"
    )


@dwh_app.command("table")
def table(
    rows: Annotated[str, typer.Option(help="One or two row dimensions, comma-separated.")],
    cols: Annotated[str, typer.Option(help="The column dimension.")],
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2024Q4.")],
    measure: Annotated[str, typer.Option(help="What is counted: count (persons).")] = "count",
    filter_: Annotated[
        list[str] | None, typer.Option("--filter", help="DIMENSION=VALUE[,VALUE...]; repeatable.")
    ] = None,
    threshold: Annotated[int, typer.Option(help="Cells below this (and above 0) are suppressed.")] = 10,
    round_to: Annotated[
        int | None, typer.Option("--round", help="Round published figures to this base (e.g. 5).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text, csv, json or html.")] = "text",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of the terminal.")] = None,
) -> None:
    """A disclosure-controlled table over one quarter (suppressed cells marked x)."""
    if output not in FORMATS:
        raise fail(f"unknown format {output!r}; formats are: {', '.join(FORMATS)}")
    with _answering():
        result = warehouse.table(
            app_state().settings.home,
            rows=[r.strip() for r in rows.split(",") if r.strip()],
            cols=cols.strip(),
            quarter=quarter,
            filters=_filters(filter_),
            measure=measure,
            threshold=threshold,
            rounding_base=round_to,
        )
    rendered = _render(result, output)
    if out is not None:
        if isinstance(rendered, Table):
            raise fail("--out needs --format csv, json or html")
        out.write_text(rendered, "utf-8")
        console.print(f"written {out}")
    elif isinstance(rendered, Table):
        console.print(rendered)
    else:
        typer.echo(rendered, nl=False)


@dwh_app.command("standard")
def standard(
    quarter: Annotated[str, typer.Option(help="The quarter, e.g. 2024Q4.")],
    out: Annotated[Path, typer.Option(help="Folder for the CSV files.")],
    threshold: Annotated[int, typer.Option()] = 10,
    round_to: Annotated[int | None, typer.Option("--round")] = None,
) -> None:
    """The standard tables by municipality ("global figures"), one protected CSV each."""
    with _answering():
        tables = warehouse.standard_tables(
            app_state().settings.home, quarter, threshold=threshold, rounding_base=round_to
        )
    out.mkdir(parents=True, exist_ok=True)
    for name, result in tables.items():
        (out / f"{name}_{quarter}.csv").write_text(result.to_csv(), "utf-8")
    console.print(f"written {len(tables)} tables to {out}")


@dwh_app.command("extract")
def extract(
    deliberation: Annotated[str, typer.Option(help="Number of the authorising deliberation, e.g. 20/248.")],
    project: Annotated[str, typer.Option(help="Research project (its own pseudonym key).")],
    requester: Annotated[str, typer.Option(help="Who asks (organisation, person).")],
    variables: Annotated[str, typer.Option(help="Comma-separated variables (see docs/warehouse.md).")],
    quarters: Annotated[str, typer.Option(help="Quarter or range, e.g. 2020Q1:2021Q4.")],
    out: Annotated[Path, typer.Option(help="New folder for the extract files.")],
    filter_: Annotated[
        list[str] | None, typer.Option("--filter", help="Population: DIMENSION=VALUE[,VALUE...]; repeatable.")
    ] = None,
    k: Annotated[int, typer.Option(help="Every class of quasi-identifiers holds at least k persons.")] = 5,
    generalise: Annotated[
        bool, typer.Option(help="Generalise further when k is not met (--no-generalise: refuse).")
    ] = True,
    purpose: Annotated[str, typer.Option(help="The purpose, as in the deliberation.")] = "",
) -> None:
    """A k-anonymous person-level research extract (Parquet, CSV, data dictionary), logged."""
    state = app_state()
    with _answering():
        request = warehouse.ExtractRequest(
            deliberation=deliberation,
            project=project,
            requester=requester,
            variables=tuple(v.strip() for v in variables.split(",") if v.strip()),
            quarters=quarters,
            filters=_filters(filter_),
            purpose=purpose,
            k=k,
            generalise=generalise,
        )
        report = warehouse.extract(state.engine, state.settings.home, request, out)
    levels = ", ".join(f"{family}: {level}" for family, level in report.levels.items()) or "none"
    console.print(
        f"extract {report.extract_id} written to {report.directory}: {report.rows:,} rows, "
        f"{report.persons:,} persons, smallest class {report.k_achieved} (k = {k}); levels {levels}"
    )


@dwh_app.command("extracts")
def extracts() -> None:
    """The extract log: every request, written or refused."""
    log = warehouse.extract_log(app_state().engine)
    shown = Table("id", "requested", "deliberation", "project", "requester", "status", "rows", "k", "reason")
    for row in log.iter_rows(named=True):
        shown.add_row(
            str(row["id"]),
            f"{row['requested_at']:%Y-%m-%d %H:%M}",
            row["deliberation"],
            row["project"],
            row["requester"],
            row["status"],
            "" if row["rows"] is None else f"{row['rows']:,}",
            "" if row["k_achieved"] is None else str(row["k_achieved"]),
            row["reason"] or "",
        )
    console.print(shown)


@dwh_app.command("destroy-key")
def destroy_key(project: Annotated[str, typer.Argument(help="The research project.")]) -> None:
    """Destroy a project's pseudonym key: its extracts can never be linked again."""
    with _answering():
        destroyed = warehouse.destroy_project(app_state().engine, app_state().settings.home, project)
    console.print(f"key of project {project} " + ("destroyed" if destroyed else "was already gone"))


def demo_warehouse(context: DemoContext) -> None:
    """Build the last four complete quarters and print one protected table."""
    as_of: date = context.facts.get("as_of") or date.today()
    last = Quarter.last_complete(as_of)
    first = last.previous().previous().previous()
    home = context.app.settings.home
    report = warehouse.build(context.app.engine, home, f"{first}:{last}")
    console.print(
        f"  built {first}:{last}: {sum(report.quarters.values()):,} person-quarters in {report.seconds:.1f} s"
    )
    result = warehouse.table(home, rows=["position"], cols="municipality", quarter=str(last))
    console.print(_render(result, "text"))
