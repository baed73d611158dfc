"""CLI for the GSS buffer: ``kruispunt statuses`` (load feeds, show a person, holders, export)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from kruispunt import statuses
from kruispunt.cli._common import app_state, console, fail, reporting_rejections
from kruispunt.cli.demo import DemoContext
from kruispunt.identity import Insz, InvalidNumber, UnknownMunicipality

statuses_app = typer.Typer(
    help="The GSS buffer of harmonised social statuses: load source feeds, query, export.",
    no_args_is_help=True,
)


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _known_at(text: str | None) -> datetime | None:
    """A date means the end of that day (what we knew that evening); a timestamp is taken as UTC."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max)
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise fail(f"--known-at {text!r} is not a date YYYY-MM-DD or a timestamp") from None


@statuses_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="Status feed, .csv or .parquet (see docs/feeds.md).")],
    source: Annotated[
        str, typer.Option(help="The delivering institution's source code, or * for each row's own.")
    ],
    mode: Annotated[
        str, typer.Option(help="full: the file is all the source delivers; delta: changes.")
    ] = "full",
    accept_partial: Annotated[
        bool, typer.Option("--accept-partial", help="Load the good rows; wrong ones go to --rejects.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="With --accept-partial: CSV of the rejected rows.")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write every error to this CSV when rejected.")] = None,
) -> None:
    """Load a source's status feed: validated whole, only differences recorded, idempotent."""
    if mode not in ("full", "delta"):
        raise fail(f"--mode must be full or delta, not {mode!r}")
    with reporting_rejections(report):
        try:
            result = statuses.load_status_feed(
                app_state().engine,
                file,
                source=source,
                mode="full" if mode == "full" else "delta",
                accept_partial=accept_partial,
                rejects_path=rejects,
            )
        except statuses.UnknownStatus as error:
            raise fail(f"{error}; known sources: {', '.join(statuses.catalogue().sources)}") from None
    if result.rejected:
        console.print(f"{result.rejected} row(s) rejected" + (f", listed in {rejects}" if rejects else ""))
    if not result.changed_anything:
        console.print(f"{file}: {result.rows} rows, nothing changed")
        return
    console.print(
        f"{file}: {result.rows} rows; {result.periods_added} periods recorded, "
        f"{result.periods_superseded} superseded; events: {result.started} started, {result.ended} ended, "
        f"{result.corrected} corrected, {result.removed} removed"
    )


@statuses_app.command("show")
def show(
    insz: Annotated[str, typer.Argument(help="Any of the person's numbers.")],
    at: Annotated[str | None, typer.Option(help="Only periods valid on this date.")] = None,
    known_at: Annotated[
        str | None,
        typer.Option(help="As we knew it then (a date: the end of that day; or a timestamp, UTC)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON array, an object per period.")
    ] = False,
) -> None:
    """A person's status periods (all, or valid on --at), as known now or at --known-at."""
    try:
        periods = statuses.person_statuses(
            app_state().engine, insz, at=_date(at, "--at"), known_at=_known_at(known_at)
        )
    except InvalidNumber as error:
        raise fail(f"{insz!r}: {error}") from None
    except statuses.UnknownPerson as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps([_period_dict(p) for p in periods], ensure_ascii=False))
        return
    console.print(f"[bold]{Insz.parse(insz).formatted}[/]: {len(periods)} period(s)")
    table = Table("status", "label", "from", "until", "source", "recorded")
    for p in periods:
        table.add_row(
            p.status,
            p.label,
            str(p.start_date),
            str(p.end_date or "open"),
            p.source,
            f"{p.recorded_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


def _period_dict(period: statuses.StatusPeriod) -> dict[str, str | None]:
    return {
        "status": period.status,
        "start_date": period.start_date.isoformat(),
        "end_date": period.end_date.isoformat() if period.end_date else None,
        "source": period.source,
        "recorded_at": period.recorded_at.isoformat(),
        "superseded_at": period.superseded_at.isoformat() if period.superseded_at else None,
    }


@statuses_app.command("holders")
def holders(
    codes: Annotated[list[str], typer.Argument(help="Status codes (see `kruispunt statuses catalogue`).")],
    at: Annotated[str, typer.Option(help="The date, YYYY-MM-DD.")],
    municipality: Annotated[str | None, typer.Option(help="Only people living in this NIS code.")] = None,
    expand: Annotated[
        bool, typer.Option("--expand", help="Include the codes that count as these (VT_DEPENDANT for VT).")
    ] = False,
    output: Annotated[Path | None, typer.Option(help="Write all holders to this .csv or .parquet.")] = None,
) -> None:
    """Who holds any of the statuses on a date: counts per status, optionally a file of all holders."""
    try:
        wanted = statuses.expand_codes(codes) if expand else frozenset(codes)
        frame = statuses.holders(
            app_state().engine, wanted, at=_date(at, "--at") or date.today(), municipality=municipality
        )
    except (statuses.UnknownStatus, UnknownMunicipality) as error:
        raise fail(str(error).strip("'\"")) from None
    counts = frame.group_by("status").agg(
        pl.len().alias("periods"), pl.col("person_id").n_unique().alias("persons")
    )
    table = Table("status", "persons", "periods")
    for status, periods, persons in counts.sort("status").select("status", "periods", "persons").iter_rows():
        table.add_row(status, f"{persons:,}", f"{periods:,}")
    console.print(table)
    console.print(
        f"{frame['person_id'].n_unique():,} persons hold at least one of {', '.join(sorted(wanted))} on {at}"
    )
    if output:
        _write(frame, output)
        console.print(f"written to {output}")


def _write(frame: pl.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".parquet":
        frame.write_parquet(path)
    elif path.suffix.lower() == ".csv":
        frame.write_csv(path)
    else:
        raise fail(f"{path}: use a .csv or .parquet file name")


@statuses_app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="A .parquet or .csv file.")],
    status: Annotated[list[str] | None, typer.Option(help="Only this status (repeatable).")] = None,
    known_at: Annotated[
        str | None, typer.Option(help="As we knew it then (a date or a timestamp, UTC).")
    ] = None,
) -> None:
    """Every current period (or as known at --known-at) as one columnar file."""
    try:
        frame = statuses.periods_frame(
            app_state().engine, known_at=_known_at(known_at), statuses=status or None
        )
    except statuses.UnknownStatus as error:
        raise fail(str(error)) from None
    _write(frame, output)
    console.print(f"{frame.height:,} periods written to {output}")


@statuses_app.command("catalogue")
def show_catalogue(
    language: Annotated[str, typer.Option(help="nl, fr or en")] = "en",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The status catalogue: codes, labels, sources, dependants, reference-directory capacity."""
    if language not in ("nl", "fr", "en"):
        raise fail("--language must be nl, fr or en")
    cat = statuses.catalogue()
    if as_json:
        typer.echo(json.dumps([d.model_dump() for d in cat.statuses.values()], ensure_ascii=False))
        return
    table = Table("code", "label", "sources", "dependants", "counts as", "sector/capacity")
    for d in cat.statuses.values():
        table.add_row(
            d.code,
            d.label(language),
            ", ".join(d.sources),
            "yes" if d.extends_to_dependants else "",
            ", ".join(d.counts_as),
            f"{d.sector}/{d.capacity}",
        )
    console.print(table)


def demo_statuses(context: DemoContext) -> None:
    """Load the synthetic statuses file (every source in one checked load) and show one person's history."""
    statuses_file = context.facts.get("statuses_file")
    if statuses_file is None:
        console.print("  (no synthetic statuses file from an earlier step; skipping the load)")
        return
    engine = context.app.engine
    rejects = context.out / "statuses-rejects.csv"
    result = statuses.load_status_feed(
        engine, Path(statuses_file), source=statuses.ALL_SOURCES, accept_partial=True, rejects_path=rejects
    )
    changed = (
        f"{result.periods_added:,} periods recorded, {result.events:,} mutation events"
        if result.changed_anything
        else "nothing changed (already loaded)"
    )
    console.print(f"  loaded {Path(statuses_file).name}: {result.rows:,} rows; {changed}")
    if result.rejected:
        console.print(f"  {result.rejected:,} rows rejected, see {rejects}")
    frame = statuses.periods_frame(engine)
    if frame.is_empty():
        return
    busiest = frame.group_by("insz").agg(pl.len().alias("n")).sort("n", "insz", descending=[True, False])
    insz = str(busiest["insz"][0])
    console.print(
        f"  the GSS buffer holds {frame.height:,} periods of {frame['person_id'].n_unique():,} persons"
    )
    console.print(f"  history of {Insz.parse(insz).formatted}:")
    for p in statuses.person_statuses(engine, insz):
        console.print(
            f"    {p.status:<15} {p.start_date} .. {p.end_date or 'open'!s:<10}  {p.source:<7} {p.label}"
        )
    context.facts["statuses_loaded"] = True
