"""CLI for synthetic Belgium: ``kruispunt synth`` (a top-level command) and the demo's first step.

``kruispunt synth`` for one municipality should take well under two seconds, start-up included, so this
module imports neither the shared CLI helpers (they bootstrap SQLAlchemy and the store) nor the demo at
load time: it has its own console, and takes the helpers only on the paths that need them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from kruispunt import synth

if TYPE_CHECKING:
    from kruispunt.cli.demo import DemoContext

console = Console(soft_wrap=True)

DEMO_MUNICIPALITIES = ("61031", "64065", "62051")  # Huy, Saint-Georges-sur-Meuse, Herstal
DEMO_SEED = 20_250_101
DEMO_AS_OF = date(2025, 1, 1)


def fail(message: str) -> typer.Exit:
    """The shared CLI's error report (imported only when there is an error to report)."""
    from kruispunt.cli._common import fail as report

    return report(message)


def _municipalities(text: str | None) -> list[str] | None:
    if text is None:
        return None
    codes = [code.strip() for code in text.split(",") if code.strip()]
    if not codes:
        raise fail("--municipalities needs at least one NIS code, e.g. 61031,62051")
    return codes


def synth_command(
    out: Annotated[Path, typer.Option(help="Folder to write register, statuses and manifest.json into.")],
    persons: Annotated[
        int | None,
        typer.Option(min=1, help="Number of persons. Default with --municipalities: their real population."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed; the same arguments give byte-identical files.")] = 0,
    municipalities: Annotated[
        str | None, typer.Option(help="Comma-separated NIS codes; persons only in these municipalities.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    defects: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of deliberately damaged rows (default none).")
    ] = 0.0,
    as_of: Annotated[
        str, typer.Option(help="Reference day: ages, open periods.")
    ] = synth.DEFAULT_AS_OF.isoformat(),
) -> None:
    """Generate a synthetic Belgian population: register feed, status feed and manifest."""
    try:
        reference = date.fromisoformat(as_of)
    except ValueError:
        raise fail(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None
    if fmt not in synth.FORMATS:
        raise fail(f"--format {fmt!r}: use parquet or csv")
    columns = (TextColumn("[bold]synth"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("synth", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            manifest = synth.generate(
                persons,
                seed,
                _municipalities(municipalities),
                fmt,
                out,
                defects,
                advance,
                as_of=reference,
            )
        except synth.SynthError as error:
            raise fail(str(error)) from None
    counts = manifest.counts
    console.print(
        f"{out}: {counts['persons']:,} persons in {counts['households']:,} households "
        f"({counts['deceased']:,} deceased, {counts['bis_numbers']:,} BIS numbers), "
        f"{counts['status_rows_written']:,} status periods; manifest.json written"
    )


def demo_synth(context: DemoContext) -> None:
    """Generate Huy, Saint-Georges-sur-Meuse and Herstal with a fixed seed for the steps that follow."""
    out = context.out / "synth"
    manifest = synth.generate(None, DEMO_SEED, DEMO_MUNICIPALITIES, "parquet", out, as_of=DEMO_AS_OF)
    context.facts["register_file"] = out / "register.parquet"
    context.facts["statuses_file"] = out / "statuses.parquet"
    context.facts["as_of"] = DEMO_AS_OF
    counts = manifest.counts
    console.print(
        f"  generated {counts['persons']:,} persons in {counts['households']:,} households in Huy, "
        f"Saint-Georges-sur-Meuse and Herstal, {counts['status_rows']:,} status periods (seed {DEMO_SEED})"
    )
