"""The ``kruispunt`` command: a thin shell over the rooms' service APIs.

Sub-commands are imported only when used: each room's CLI pulls in its room (and, for some, heavy
libraries such as matplotlib or FastAPI), and ``kruispunt id check`` should not wait for all of them.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

# name -> (module, attribute, one-line help). The attribute is a Typer sub-app or a command function.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "id": ("kruispunt.cli.identity", "id_app", "Check and explain INSZ, BIS and KBO numbers."),
    "register": (
        "kruispunt.cli.identity",
        "register_app",
        "The person register: load feeds, look people up.",
    ),
    "synth": (
        "kruispunt.cli.synth",
        "synth_command",
        "Generate a synthetic Belgium (register and statuses).",
    ),
    "statuses": ("kruispunt.cli.statuses", "statuses_app", "The GSS buffer of harmonised social statuses."),
    "rights": ("kruispunt.cli.rights", "rights_app", "Derived rights: rules, evaluation, ledger, exports."),
    "simulate": ("kruispunt.cli.impact", "simulate_app", "Simulate a right's reach and cost; OCMW outreach."),
    "serve": ("kruispunt.cli.network", "serve", "Serve the exchange API and the web pages."),
    "partner": ("kruispunt.cli.network", "partner_app", "Partner institutions and their bearer tokens."),
    "deliberation": ("kruispunt.cli.network", "deliberation_app", "Deliberations: who may get which data."),
    "directory": (
        "kruispunt.cli.network",
        "directory_app",
        "The reference directory and knowledge directory.",
    ),
    "audit": ("kruispunt.cli.network", "audit_app", "The hash-chained audit log of every exchange."),
    "mutations": ("kruispunt.cli.feeds", "mutations_app", "Mutation feeds: fan-out, feeds, acks, webhooks."),
    "subscription": (
        "kruispunt.cli.feeds",
        "subscription_app",
        "Subscriptions and municipal GSS subscriptions.",
    ),
    "batch": ("kruispunt.cli.feeds", "batch_app", "Batch exchange: files of INSZ numbers answered as jobs."),
    "soap": ("kruispunt.cli.soap", "soap_app", "The KSZ-compatible SOAP connector."),
    "dwh": ("kruispunt.cli.warehouse", "dwh_app", "The statistical warehouse: build, tables, extracts."),
    "web": ("kruispunt.cli.web", "web_app", "The web pages: local accounts for the simulated sign-in."),
    "db": ("kruispunt.cli.db", "db_app", "The database: schema migrations and what is stored."),
    "demo": ("kruispunt.cli.demo", "demo", "Run the whole system end to end on synthetic data."),
}


def load_command(name: str) -> Any:
    """Import and build one top-level command."""
    module_name, attribute, _ = COMMANDS[name]
    target: Any = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer(pretty_exceptions_enable=False)
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, _, help_text) in COMMANDS.items()])


app = typer.Typer(
    cls=LazyGroup,
    help="kruispunt: an open social-security crossroads bank.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def root() -> None:
    """kruispunt: an open social-security crossroads bank."""


def main() -> None:
    app()
