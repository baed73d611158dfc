"""CLI for the database: ``kruispunt db upgrade|info``."""

from __future__ import annotations

import typer

from kruispunt import identity
from kruispunt.cli._common import app_state, console
from kruispunt.store import current_revision

db_app = typer.Typer(help="The database: schema migrations and what is stored.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply all migrations (every command does this on start too)."""
    state = app_state()
    console.print(
        f"{state.engine.url.render_as_string(hide_password=True)} "
        f"at revision {current_revision(state.engine)}"
    )


@db_app.command("info")
def info() -> None:
    """Where the data lives and how much there is."""
    state = app_state()
    console.print(f"database: {state.engine.url.render_as_string(hide_password=True)}")
    console.print(f"schema revision: {current_revision(state.engine)}")
    for name, count in identity.register_counts(state.engine).items():
        console.print(f"{name}: {count:,}")
