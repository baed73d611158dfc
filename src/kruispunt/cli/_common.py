"""What every CLI command shares: the console, the bootstrapped app, errors as exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import typer
from rich.console import Console

from kruispunt.bootstrap import App, bootstrap
from kruispunt.feeds import FeedRejected

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


@cache
def app_state() -> App:
    """The bootstrapped app, built on first use so that ``--help`` never touches a database."""
    return bootstrap()


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@contextmanager
def reporting_rejections(report: Path | None = None, shown: int = 20) -> Iterator[None]:
    """Turn a rejected feed into a readable list on stderr (and a CSV report), exit status 1."""
    try:
        yield
    except FeedRejected as rejected:
        errors.print(
            f"[bold red]rejected:[/] {len(rejected.errors)} error(s); nothing was written", highlight=False
        )
        for error in rejected.errors[:shown]:
            errors.print(f"  {error}", highlight=False, markup=False)
        if len(rejected.errors) > shown:
            errors.print(f"  ... and {len(rejected.errors) - shown} more", highlight=False)
        if report:
            rejected.write_report(report)
            errors.print(f"full report: {report}", highlight=False)
        raise typer.Exit(1) from None
